import { rfc3339 } from '../clock';
import type { FilterableEntitlement } from './entitlement-filter';
import type { AccountRecord, EntitlementRecord } from './model';

/**
 * The API's JSON for accounts and entitlements. Like Google's JSON APIs, a field with no value
 * is left out rather than sent empty; the time and offer fields follow the per-state rules of
 * the `Entitlement` reference.
 */

const compact = <T extends Record<string, unknown>>(record: T): T =>
  Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== undefined && value !== ''),
  ) as T;

const time = (epochMs: number | undefined): string | undefined =>
  epochMs === undefined ? undefined : rfc3339(epochMs);

export const accountName = (providerId: string, accountId: string): string =>
  `providers/${providerId}/accounts/${accountId}`;

export const entitlementName = (providerId: string, entitlementId: string): string =>
  `providers/${providerId}/entitlements/${entitlementId}`;

export const accountView = (providerId: string, account: AccountRecord): Record<string, unknown> =>
  compact({
    name: accountName(providerId, account.id),
    provider: providerId,
    state: 'ACCOUNT_ACTIVE',
    approvals: account.approvals.map((approval) =>
      compact({
        name: approval.name,
        state: approval.state,
        reason: approval.reason,
        updateTime: approval.updateTime,
      }),
    ),
    createTime: account.createTime,
    updateTime: account.updateTime,
  });

const offerTimes = (e: EntitlementRecord): Record<string, string | undefined> => {
  switch (e.state) {
    case 'ENTITLEMENT_ACTIVATION_REQUESTED':
      return e.waitingForStart
        ? {
            offerEndTime: time(e.termEndMs),
            newOfferStartTime: e.offer.startTime,
            newOfferEndTime: time(e.termEndMs),
          }
        : { offerEndTime: e.offer.endTime };
    case 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL':
    case 'ENTITLEMENT_PENDING_PLAN_CHANGE':
      return {
        offerEndTime: time(e.termEndMs),
        newPendingOffer: e.pendingOffer?.name,
        newPendingOfferDuration: e.pendingOffer?.duration,
        newOfferEndTime: e.pendingOffer?.endTime,
      };
    case 'ENTITLEMENT_PENDING_CANCELLATION':
      return { offerEndTime: time(e.termEndMs), subscriptionEndTime: time(e.subscriptionEndMs) };
    case 'ENTITLEMENT_CANCELLED':
      return { offerEndTime: time(e.termEndMs), subscriptionEndTime: time(e.subscriptionEndMs) };
    default:
      return { offerEndTime: time(e.termEndMs) };
  }
};

export const entitlementView = (
  providerId: string,
  e: EntitlementRecord,
): Record<string, unknown> =>
  compact({
    name: entitlementName(providerId, e.id),
    account: accountName(providerId, e.accountId),
    provider: providerId,
    product: e.productExternalName,
    productExternalName: e.productExternalName,
    quoteExternalName: e.quoteExternalName,
    plan: e.plan,
    newPendingPlan: e.state.startsWith('ENTITLEMENT_PENDING_PLAN_CHANGE')
      ? e.newPendingPlan
      : undefined,
    state: e.state,
    offer: e.offer.name,
    offerDuration: e.offer.duration,
    ...offerTimes(e),
    usageReportingId: e.usageReportingId,
    messageToUser: e.messageToUser,
    consumers: e.consumers.length ? e.consumers.map((project) => ({ project })) : undefined,
    orderId: e.orderId,
    cancellationReason: e.state === 'ENTITLEMENT_CANCELLED' ? e.cancellationReason : undefined,
    createTime: e.createTime,
    updateTime: e.updateTime,
  });

export const filterableEntitlement = (
  providerId: string,
  e: EntitlementRecord,
  account: AccountRecord | undefined,
): FilterableEntitlement => ({
  accountId: e.accountId,
  accountName: accountName(providerId, e.accountId),
  customerBillingAccount: account?.billingAccount ?? '',
  productExternalName: e.productExternalName,
  quoteExternalName: e.quoteExternalName,
  offer: e.offer.name,
  newPendingOffer: e.pendingOffer?.name,
  plan: e.plan,
  newPendingPlan: e.newPendingPlan,
  state: e.state,
  consumerProjects: e.consumers,
  offerHistory: e.offerHistory,
});
