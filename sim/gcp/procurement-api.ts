import type { SimRequest, SimResponse, SimRoute } from '../http/types';
import { compileEntitlementFilter, FilterSyntaxError } from './entitlement-filter';
import { invalidArgument, permissionDenied, unimplemented } from './google-errors';
import type { FieldType } from './google-request';
import { checkQuery, optionalString, readBody } from './google-request';
import type { ActionResult, GcpMarketplace } from './marketplace';
import { paginate } from './paging';
import type { PubSubPush } from './pubsub-push';
import { accountView, entitlementView, filterableEntitlement } from './resource-views';

/**
 * Partner Procurement API v1 (`cloudcommerceprocurement.googleapis.com`) over the simulated
 * marketplace, at the paths the googleapis client builds from `rootUrl`.
 */
export interface ProcurementApiDeps {
  readonly marketplace: GcpMarketplace;
  readonly pubsub: PubSubPush;
}

const BASE = '/v1/providers/{provider}';
const ACCOUNTS_PAGE = { defaultSize: 25, maxSize: 200 };
const ENTITLEMENTS_PAGE = { defaultSize: 200, maxSize: 200 };

// Every field of the Entitlement resource: a PATCH body may carry any (output-only ones are
// ignored), but not a name the resource does not have.
const ENTITLEMENT_FIELDS: Readonly<Record<string, FieldType>> = Object.fromEntries(
  [
    'account',
    'cancellationReason',
    'consumers',
    'createTime',
    'entitlementBenefitIds',
    'inputProperties',
    'messageToUser',
    'name',
    'newOfferEndTime',
    'newOfferStartTime',
    'newPendingOffer',
    'newPendingOfferDuration',
    'newPendingPlan',
    'offer',
    'offerDuration',
    'offerEndTime',
    'orderId',
    'plan',
    'product',
    'productExternalName',
    'provider',
    'quoteExternalName',
    'state',
    'subscriptionEndTime',
    'updateTime',
    'usageReportingId',
  ].map((name) => [name, 'any' as FieldType]),
);

const empty = (): SimResponse => ({ status: 200, body: {} });

export const procurementRoutes = (deps: ProcurementApiDeps): SimRoute[] => {
  const { marketplace, pubsub } = deps;

  // The caller may only act on its own provider, as IAM would enforce.
  const provider = (request: SimRequest, permission: string): void => {
    const requested = request.params.provider ?? '';
    if (requested !== marketplace.providerId) {
      throw permissionDenied(
        `Permission '${permission}' denied on resource 'providers/${requested}' (or it may not exist).`,
      );
    }
  };

  // Messages a provider call causes go out in the background: the caller is often the
  // push handler that would receive them.
  const done = (result: ActionResult): SimResponse => {
    void pubsub.dispatch(result.published, 'api');
    return empty();
  };

  const route = (
    method: SimRoute['method'],
    pattern: string,
    permission: string,
    query: readonly string[],
    handle: (request: SimRequest) => Promise<SimResponse> | SimResponse,
  ): SimRoute => ({
    method,
    pattern: `${BASE}${pattern}`,
    api: 'gcp',
    handle: (request) => {
      provider(request, permission);
      checkQuery(request, query);
      return handle(request);
    },
  });

  const id = (request: SimRequest): string => request.params.id ?? '';

  return [
    route(
      'GET',
      '/accounts',
      'commerceprocurement.providerAccounts.list',
      ['pageSize', 'pageToken'],
      (request) => {
        const page = paginate(marketplace.accounts(), {
          pageSize: request.url.searchParams.get('pageSize'),
          pageToken: request.url.searchParams.get('pageToken'),
          kind: 'accounts',
          ...ACCOUNTS_PAGE,
        });
        const body: Record<string, unknown> = {};
        if (page.items.length)
          body.accounts = page.items.map((a) => accountView(marketplace.providerId, a));
        if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
        return { status: 200, body };
      },
    ),
    route(
      'GET',
      '/accounts/{id}',
      'commerceprocurement.providerAccounts.get',
      ['view'],
      (request) => {
        const view = request.url.searchParams.get('view');
        if (
          view &&
          !['ACCOUNT_VIEW_UNSPECIFIED', 'ACCOUNT_VIEW_BASIC', 'ACCOUNT_VIEW_FULL'].includes(view)
        ) {
          throw invalidArgument(
            `Invalid value at 'view' (type.googleapis.com/AccountView), "${view}"`,
          );
        }
        const account = marketplace.requireAccount(id(request));
        return { status: 200, body: accountView(marketplace.providerId, account) };
      },
    ),
    route(
      'POST',
      '/accounts/{id}:approve',
      'commerceprocurement.providerAccounts.approve',
      [],
      async (request) => {
        const body = await readBody(request, {
          approvalName: 'string',
          reason: 'string',
          properties: 'object',
        });
        return done(
          marketplace.approveAccount(
            id(request),
            optionalString(body.approvalName),
            optionalString(body.reason),
          ),
        );
      },
    ),
    route(
      'POST',
      '/accounts/{id}:reject',
      'commerceprocurement.providerAccounts.reject',
      [],
      async (request) => {
        const body = await readBody(request, { approvalName: 'string', reason: 'string' });
        return done(
          marketplace.rejectAccount(
            id(request),
            optionalString(body.approvalName),
            optionalString(body.reason),
          ),
        );
      },
    ),
    route(
      'POST',
      '/accounts/{id}:reset',
      'commerceprocurement.providerAccounts.reset',
      [],
      async (request) => {
        await readBody(request, {});
        return done(marketplace.resetAccount(id(request)));
      },
    ),

    route(
      'GET',
      '/entitlements',
      'commerceprocurement.providerEntitlements.list',
      ['filter', 'pageSize', 'pageToken'],
      (request) => {
        const filter = request.url.searchParams.get('filter') ?? '';
        let matches: ReturnType<typeof compileEntitlementFilter>;
        try {
          matches = compileEntitlementFilter(filter);
        } catch (error) {
          if (error instanceof FilterSyntaxError)
            throw invalidArgument(`Invalid filter: ${error.message}`);
          throw error;
        }
        const selected = marketplace
          .entitlements()
          .filter((e) =>
            matches(
              filterableEntitlement(marketplace.providerId, e, marketplace.account(e.accountId)),
            ),
          );
        const page = paginate(selected, {
          pageSize: request.url.searchParams.get('pageSize'),
          pageToken: request.url.searchParams.get('pageToken'),
          kind: 'entitlements',
          filter,
          ...ENTITLEMENTS_PAGE,
        });
        const body: Record<string, unknown> = {};
        if (page.items.length) {
          body.entitlements = page.items.map((e) => entitlementView(marketplace.providerId, e));
        }
        if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
        return { status: 200, body };
      },
    ),
    route(
      'GET',
      '/entitlements/{id}',
      'commerceprocurement.providerEntitlements.get',
      [],
      (request) => {
        const entitlement = marketplace.requireEntitlement(id(request));
        return { status: 200, body: entitlementView(marketplace.providerId, entitlement) };
      },
    ),
    route(
      'PATCH',
      '/entitlements/{id}',
      'commerceprocurement.providerEntitlements.update',
      ['updateMask'],
      async (request) => {
        const body = await readBody(request, ENTITLEMENT_FIELDS);
        const mask = request.url.searchParams.get('updateMask');
        if (!mask)
          throw invalidArgument('update_mask is required: only messageToUser can be updated.');
        for (const path of mask.split(',').map((p) => p.trim())) {
          if (path !== 'messageToUser' && path !== 'message_to_user') {
            throw invalidArgument(`Field "${path}" cannot be updated: only messageToUser can.`);
          }
        }
        if (
          body.messageToUser !== undefined &&
          body.messageToUser !== null &&
          typeof body.messageToUser !== 'string'
        ) {
          throw invalidArgument(`Invalid value at 'entitlement.message_to_user' (TYPE_STRING)`);
        }
        const result = marketplace.setMessageToUser(
          id(request),
          optionalString(body.messageToUser),
        );
        return { status: 200, body: entitlementView(marketplace.providerId, result.entitlement!) };
      },
    ),
    route(
      'POST',
      '/entitlements/{id}:approve',
      'commerceprocurement.providerEntitlements.approve',
      [],
      async (request) => {
        await readBody(request, { entitlementMigrated: 'string', properties: 'object' });
        return done(marketplace.approveEntitlement(id(request)));
      },
    ),
    route(
      'POST',
      '/entitlements/{id}:reject',
      'commerceprocurement.providerEntitlements.reject',
      [],
      async (request) => {
        const body = await readBody(request, { reason: 'string' });
        return done(marketplace.rejectEntitlement(id(request), optionalString(body.reason)));
      },
    ),
    route(
      'POST',
      '/entitlements/{id}:approvePlanChange',
      'commerceprocurement.providerEntitlements.approve',
      [],
      async (request) => {
        const body = await readBody(request, { pendingPlanName: 'string' });
        return done(
          marketplace.approvePlanChange(id(request), optionalString(body.pendingPlanName)),
        );
      },
    ),
    route(
      'POST',
      '/entitlements/{id}:rejectPlanChange',
      'commerceprocurement.providerEntitlements.reject',
      [],
      async (request) => {
        const body = await readBody(request, { pendingPlanName: 'string', reason: 'string' });
        return done(
          marketplace.rejectPlanChange(id(request), optionalString(body.pendingPlanName)),
        );
      },
    ),
    route(
      'POST',
      '/entitlements/{id}:suspend',
      'commerceprocurement.providerEntitlements.suspend',
      [],
      async (request) => {
        await readBody(request, { reason: 'string' });
        throw unimplemented('Suspending an entitlement is not yet supported.');
      },
    ),
  ];
};
