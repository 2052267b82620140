import type { ObservedAccount, ObservedEntitlement } from '../../domain/decision';
import { ValidationError } from '../../domain/errors';
import type { EntitlementStatus, Offer } from '../../domain/model';
import type { ProcurementAccount, ProcurementEntitlement } from './procurement-client';

/** Google's entitlement states in the cloud-neutral model, and what each waits for. */
const STATES: Readonly<
  Record<string, { status: EntitlementStatus; awaiting: ObservedEntitlement['awaiting'] }>
> = {
  ENTITLEMENT_ACTIVATION_REQUESTED: { status: 'pending_approval', awaiting: 'approval' },
  ENTITLEMENT_ACTIVE: { status: 'active', awaiting: null },
  ENTITLEMENT_PENDING_CANCELLATION: { status: 'pending_cancellation', awaiting: null },
  ENTITLEMENT_CANCELLED: { status: 'cancelled', awaiting: null },
  // Approved, waiting for the billing cycle to end.
  ENTITLEMENT_PENDING_PLAN_CHANGE: { status: 'pending_plan_change', awaiting: null },
  ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL: {
    status: 'pending_plan_change',
    awaiting: 'plan_change_approval',
  },
  ENTITLEMENT_SUSPENDED: { status: 'suspended', awaiting: null },
};

/** `providers/p/accounts/a` → `a`: Google says to rely on the last segment only. */
export const lastSegment = (name: string | null | undefined): string =>
  (name ?? '').split('/').filter(Boolean).pop() ?? '';

const epochMs = (time: string | null | undefined): number | null => {
  if (!time) return null;
  const parsed = Date.parse(time);
  return Number.isNaN(parsed) ? null : parsed;
};

const offerOf = (
  id: string | null | undefined,
  times: { start?: string | null; end?: string | null; duration?: string | null },
): Offer | null =>
  id
    ? {
        id,
        startEpochMs: epochMs(times.start),
        endEpochMs: epochMs(times.end),
        duration: times.duration ?? null,
      }
    : null;

const snapshotOf = (resource: ProcurementAccount | ProcurementEntitlement, what: string) => {
  const updateTimeEpochMs = epochMs(resource.updateTime);
  if (updateTimeEpochMs === null) {
    throw new ValidationError(`${what} has no updateTime`, { path: `${what}.updateTime` });
  }
  return { updateTimeEpochMs, data: { ...resource } as Record<string, unknown> };
};

/**
 * An entitlement from the Procurement API in the cloud-neutral model.
 *
 * @throws ValidationError for a state Google has not documented: nothing is guessed.
 */
export const observeEntitlement = (resource: ProcurementEntitlement): ObservedEntitlement => {
  const state = STATES[resource.state ?? ''];
  if (!state) {
    throw new ValidationError(`unknown entitlement state ${JSON.stringify(resource.state)}`, {
      path: 'entitlement.state',
    });
  }
  return {
    accountId: lastSegment(resource.account),
    productId: resource.productExternalName ?? resource.product ?? '',
    status: state.status,
    awaiting: state.awaiting,
    plan: resource.plan ?? null,
    pendingPlan: resource.newPendingPlan ?? null,
    // Without a pending offer, the "new offer" times are the current offer's: an offer accepted
    // for a later start (ENTITLEMENT_OFFER_ACCEPTED) says so on a purchase that has one offer.
    offer: offerOf(resource.offer, {
      start: resource.newPendingOffer ? null : resource.newOfferStartTime,
      end: resource.offerEndTime ?? (resource.newPendingOffer ? null : resource.newOfferEndTime),
      duration: resource.offerDuration,
    }),
    pendingOffer: offerOf(resource.newPendingOffer, {
      start: resource.newOfferStartTime,
      end: resource.newOfferEndTime,
      duration: resource.newPendingOfferDuration,
    }),
    usageReportingId: resource.usageReportingId ?? null,
    snapshot: snapshotOf(resource, 'entitlement'),
  };
};

/** An account from the Procurement API: signed up once its `signup` approval is APPROVED. */
export const observeAccount = (resource: ProcurementAccount): ObservedAccount => {
  const signup = (resource.approvals ?? []).find((approval) => approval.name === 'signup');
  return {
    status: signup?.state === 'APPROVED' ? 'active' : 'pending_signup',
    snapshot: snapshotOf(resource, 'account'),
  };
};
