import { cloudcommerceprocurement_v1 } from 'googleapis/build/src/apis/cloudcommerceprocurement';
import { googleApiOptions } from './google-api-auth';
import { toMarketplaceApiError } from './google-api-errors';

export type ProcurementAccount = cloudcommerceprocurement_v1.Schema$Account;
export type ProcurementEntitlement = cloudcommerceprocurement_v1.Schema$Entitlement;

export interface ProcurementClientOptions {
  /** Your provider id (`DEMO-<project>` in the codelab). */
  readonly providerId: string;
  /** `https://cloudcommerceprocurement.googleapis.com/` unless pointed at the simulator. */
  readonly baseUrl?: string;
}

const PAGE_SIZE = 200;

/**
 * The Partner Procurement API v1 through the official client. Answers `null` for a 404 on a
 * read; every other failure is a `MarketplaceApiError` carrying Google's status code.
 */
export const createProcurementClient = (options: ProcurementClientOptions) => {
  const baseUrl = options.baseUrl ?? 'https://cloudcommerceprocurement.googleapis.com/';
  const api = new cloudcommerceprocurement_v1.Cloudcommerceprocurement(googleApiOptions(baseUrl));
  const provider = `providers/${options.providerId}`;
  const accountName = (id: string) => `${provider}/accounts/${id}`;
  const entitlementName = (id: string) => `${provider}/entitlements/${id}`;

  const call = async <T>(name: string, request: () => Promise<{ data: T }>): Promise<T> => {
    try {
      return (await request()).data;
    } catch (error) {
      throw toMarketplaceApiError(error, name);
    }
  };
  const read = async <T>(name: string, request: () => Promise<{ data: T }>): Promise<T | null> => {
    try {
      return await call(name, request);
    } catch (error) {
      if ((error as { status?: number }).status === 404) return null;
      throw error;
    }
  };

  return {
    getAccount: (id: string): Promise<ProcurementAccount | null> =>
      read('accounts.get', () => api.providers.accounts.get({ name: accountName(id) })),

    getEntitlement: (id: string): Promise<ProcurementEntitlement | null> =>
      read('entitlements.get', () => api.providers.entitlements.get({ name: entitlementName(id) })),

    /** Every entitlement matching Google's filter syntax (`account=A state=active`), all pages. */
    listEntitlements: async (filter: string): Promise<ProcurementEntitlement[]> => {
      const all: ProcurementEntitlement[] = [];
      let pageToken: string | undefined;
      do {
        const page = await call('entitlements.list', () =>
          api.providers.entitlements.list({
            parent: provider,
            filter,
            pageSize: PAGE_SIZE,
            pageToken,
          }),
        );
        all.push(...(page.entitlements ?? []));
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      return all;
    },

    approveAccount: async (id: string, approvalName: string): Promise<void> => {
      await call('accounts.approve', () =>
        api.providers.accounts.approve({ name: accountName(id), requestBody: { approvalName } }),
      );
    },

    approveEntitlement: async (id: string): Promise<void> => {
      await call('entitlements.approve', () =>
        api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} }),
      );
    },

    rejectEntitlement: async (id: string, reason: string): Promise<void> => {
      await call('entitlements.reject', () =>
        api.providers.entitlements.reject({ name: entitlementName(id), requestBody: { reason } }),
      );
    },

    approvePlanChange: async (id: string, pendingPlanName: string): Promise<void> => {
      await call('entitlements.approvePlanChange', () =>
        api.providers.entitlements.approvePlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlanName },
        }),
      );
    },

    rejectPlanChange: async (
      id: string,
      pendingPlanName: string,
      reason: string,
    ): Promise<void> => {
      await call('entitlements.rejectPlanChange', () =>
        api.providers.entitlements.rejectPlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlanName, reason },
        }),
      );
    },

    setMessageToUser: async (id: string, messageToUser: string): Promise<void> => {
      await call('entitlements.patch', () =>
        api.providers.entitlements.patch({
          name: entitlementName(id),
          updateMask: 'messageToUser',
          requestBody: { messageToUser },
        }),
      );
    },
  };
};

export type ProcurementClient = ReturnType<typeof createProcurementClient>;
