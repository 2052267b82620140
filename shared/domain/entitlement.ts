import { InvalidTransitionError, ValidationError } from './errors';
import { EntitlementStatus } from './model';
import type { Entitlement, EntitlementRef } from './model';

/**
 * Cloud-neutral lifecycle events of an entitlement. Each cloud's edge maps its own messages
 * and API states onto these; the table below is the only place that says which may follow which.
 */
export const LifecycleEvent = {
  activated: 'activated',
  planChangeRequested: 'plan_change_requested',
  planChanged: 'plan_changed',
  planChangeCancelled: 'plan_change_cancelled',
  cancellationScheduled: 'cancellation_scheduled',
  cancellationReverted: 'cancellation_reverted',
  suspended: 'suspended',
  reinstated: 'reinstated',
  renewed: 'renewed',
  updated: 'updated',
  cancelled: 'cancelled',
  deleted: 'deleted',
} as const;
export type LifecycleEvent = (typeof LifecycleEvent)[keyof typeof LifecycleEvent];
export const LIFECYCLE_EVENTS = Object.values(LifecycleEvent);

const S = EntitlementStatus;
const E = LifecycleEvent;

/**
 * Every legal (status, event) pair and the status it leads to. A pair that is not here is
 * illegal. `updated` refreshes the data (offer, contract, snapshot) without moving the status.
 */
export const TRANSITIONS: Readonly<
  Record<EntitlementStatus, Readonly<Partial<Record<LifecycleEvent, EntitlementStatus>>>>
> = {
  [S.pendingApproval]: {
    [E.activated]: S.active,
    [E.updated]: S.pendingApproval,
    [E.cancelled]: S.cancelled,
    [E.deleted]: S.deleted,
  },
  [S.active]: {
    [E.planChangeRequested]: S.pendingPlanChange,
    [E.planChanged]: S.active,
    [E.cancellationScheduled]: S.pendingCancellation,
    [E.suspended]: S.suspended,
    [E.renewed]: S.active,
    [E.updated]: S.active,
    [E.cancelled]: S.cancelled,
    [E.deleted]: S.deleted,
  },
  [S.pendingPlanChange]: {
    [E.planChangeRequested]: S.pendingPlanChange,
    [E.planChanged]: S.active,
    [E.planChangeCancelled]: S.active,
    [E.cancellationScheduled]: S.pendingCancellation,
    [E.suspended]: S.suspended,
    [E.renewed]: S.pendingPlanChange,
    [E.updated]: S.pendingPlanChange,
    [E.cancelled]: S.cancelled,
    [E.deleted]: S.deleted,
  },
  [S.pendingCancellation]: {
    [E.cancellationReverted]: S.active,
    [E.suspended]: S.suspended,
    [E.updated]: S.pendingCancellation,
    [E.cancelled]: S.cancelled,
    [E.deleted]: S.deleted,
  },
  [S.suspended]: {
    [E.reinstated]: S.active,
    [E.updated]: S.suspended,
    [E.cancelled]: S.cancelled,
    [E.deleted]: S.deleted,
  },
  [S.cancelled]: {
    // A legacy AWS listing keys a purchase on (CustomerIdentifier, ProductCode), so a buyer who
    // subscribes again after unsubscribe-success reactivates the same entitlement.
    [E.activated]: S.active,
    [E.updated]: S.cancelled,
    [E.deleted]: S.deleted,
  },
  // Terminal: the marketplace has forgotten the purchase; only the audit remains.
  [S.deleted]: {},
};

/** The data an event may carry; everything else about an entitlement is fixed at creation. */
export type EntitlementChanges = Partial<
  Pick<
    Entitlement,
    | 'plan'
    | 'pendingPlan'
    | 'offer'
    | 'pendingOffer'
    | 'freeTrial'
    | 'contract'
    | 'usageReportingId'
    | 'tenantId'
    | 'snapshot'
  >
>;

/** The status `event` leads to from `status`, or `null` when the pair is illegal. */
export const nextStatus = (
  status: EntitlementStatus,
  event: LifecycleEvent,
): EntitlementStatus | null => TRANSITIONS[status][event] ?? null;

/**
 * Applies one lifecycle event. Pure: the caller passes the time and persists the result.
 *
 * @throws InvalidTransitionError when the table has no edge for (status, event).
 * @throws ValidationError when a plan change is requested without the plan it asks for.
 */
export const transition = (
  entitlement: Entitlement,
  event: LifecycleEvent,
  nowEpochMs: number,
  changes: EntitlementChanges = {},
): Entitlement => {
  const status = nextStatus(entitlement.status, event);
  if (status === null) throw new InvalidTransitionError(entitlement.status, event);
  const next: Entitlement = {
    ...entitlement,
    ...changes,
    status,
    endedAtEpochMs: endedAt(status, entitlement.endedAtEpochMs, nowEpochMs),
    updatedAtEpochMs: nowEpochMs,
  };
  switch (event) {
    case E.planChangeRequested:
      if (!next.pendingPlan) {
        throw new ValidationError('a plan change needs the pending plan', { path: 'pendingPlan' });
      }
      return next;
    case E.planChanged:
      return {
        ...next,
        plan: changes.plan ?? entitlement.pendingPlan ?? entitlement.plan,
        pendingPlan: null,
      };
    case E.planChangeCancelled:
      return { ...next, pendingPlan: null };
    default:
      return next;
  }
};

/** Events that move the status; `updated` and `renewed` only refresh data, so paths skip them. */
const MOVES: readonly LifecycleEvent[] = LIFECYCLE_EVENTS.filter(
  (event) => event !== E.updated && event !== E.renewed,
);

/**
 * The shortest sequence of events that leads from `from` to `to`, following the table, or
 * `null` when `to` cannot be reached. Used to catch up with the marketplace when messages were
 * lost or arrive out of order: the marketplace says where the purchase is, this finds the path.
 */
export const pathBetween = (
  from: EntitlementStatus,
  to: EntitlementStatus,
): LifecycleEvent[] | null => {
  if (from === to) return [];
  const queue: Array<{ status: EntitlementStatus; path: LifecycleEvent[] }> = [
    { status: from, path: [] },
  ];
  const seen = new Set<EntitlementStatus>([from]);
  for (let item = queue.shift(); item; item = queue.shift()) {
    for (const event of MOVES) {
      const status = nextStatus(item.status, event);
      if (status === null || seen.has(status)) continue;
      const path = [...item.path, event];
      if (status === to) return path;
      seen.add(status);
      queue.push({ status, path });
    }
  }
  return null;
};

/** Statuses a purchase has ended in: the buyer may no longer use it. */
export const hasEnded = (status: EntitlementStatus): boolean =>
  status === S.cancelled || status === S.deleted;

/** The first time a purchase was seen ended; a legacy AWS resubscribe makes it live again. */
const endedAt = (
  status: EntitlementStatus,
  endedAtEpochMs: number | null,
  nowEpochMs: number,
): number | null => (hasEnded(status) ? (endedAtEpochMs ?? nowEpochMs) : null);

/** A new entitlement as first seen, in whatever status the marketplace reports it. */
export const newEntitlement = (
  ref: EntitlementRef,
  fields: { accountId: string; productId: string; status: EntitlementStatus } & EntitlementChanges,
  nowEpochMs: number,
): Entitlement => ({
  cloud: ref.cloud,
  id: ref.id,
  plan: null,
  pendingPlan: null,
  offer: null,
  pendingOffer: null,
  freeTrial: false,
  contract: [],
  usageReportingId: null,
  tenantId: null,
  snapshot: null,
  ...fields,
  endedAtEpochMs: endedAt(fields.status, null, nowEpochMs),
  purgedAtEpochMs: null,
  version: 0,
  createdAtEpochMs: nowEpochMs,
  updatedAtEpochMs: nowEpochMs,
});

/** Statuses in which the buyer may use the product and usage may be billed. */
export const isUsable = (status: EntitlementStatus): boolean =>
  status === S.active || status === S.pendingPlanChange || status === S.pendingCancellation;

/**
 * Whether usage at `atEpochMs` may be billed for the purchase: any time while it is usable, and
 * before its end once it ended (its final usage; `endedAtEpochMs` is set only then). A purchase
 * that ended before its end was kept (`endedAtEpochMs` null) bills none.
 */
export const billsUsageAt = (entitlement: Entitlement, atEpochMs: number): boolean =>
  isUsable(entitlement.status) ||
  (entitlement.endedAtEpochMs !== null && atEpochMs < entitlement.endedAtEpochMs);
