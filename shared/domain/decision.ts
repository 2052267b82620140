import {
  LifecycleEvent,
  hasEnded,
  newEntitlement,
  nextStatus,
  pathBetween,
  transition,
} from './entitlement';
import type { EntitlementChanges } from './entitlement';
import { purgedAccount, withoutPersonalData } from './personal-data';
import { AccountStatus, EventOutcome, OutboxStatus } from './model';
import type {
  Account,
  Cloud,
  Entitlement,
  EntitlementStatus,
  EventRecord,
  MarketplaceSnapshot,
  OutboxMessage,
} from './model';
import type { EntitlementEventData } from './vendor-event-schemas';
import {
  VENDOR_EVENT_OF,
  VENDOR_EVENT_VERSION,
  VendorEventType,
  vendorEventOfNewStatus,
} from './vendor-events';

/** A record to write and the version it must still have in the store (0: must not exist). */
export interface VersionedWrite<T> {
  readonly next: T;
  readonly expectedVersion: number;
}

/**
 * Everything one inbound message changes, written in one atomic write: the event record (the
 * dedupe key), the new state, and the outbox messages for the vendor.
 */
export interface Decision {
  readonly event: EventRecord;
  readonly account: VersionedWrite<Account> | null;
  readonly entitlement: VersionedWrite<Entitlement> | null;
  readonly outbox: readonly OutboxMessage[];
}

/** The marketplace answered 404: the resource no longer exists. */
export const GONE = 'gone' as const;
export type Gone = typeof GONE;

/** An entitlement as the marketplace reports it now, mapped to the cloud-neutral model. */
export type ObservedEntitlement = {
  readonly accountId: string;
  readonly productId: string;
  readonly status: EntitlementStatus;
  readonly snapshot: MarketplaceSnapshot;
  /** What the marketplace waits for the vendor to approve, if anything; never stored. */
  readonly awaiting?: 'approval' | 'plan_change_approval' | null;
  /**
   * The status is only what the message implies, not a state the marketplace reported: AWS
   * `entitlement-updated` says the contract changed and the subscription still exists, not
   * where it stands. The decision then keeps a stored status that can take the update.
   */
  readonly statusImplied?: boolean;
} & Omit<EntitlementChanges, 'snapshot' | 'tenantId'>;

/** An account as the marketplace reports it now. */
export interface ObservedAccount {
  readonly status: Exclude<AccountStatus, 'deleted'>;
  readonly snapshot: MarketplaceSnapshot;
}

/** What a re-read of the marketplace found for the resources a message names. */
export interface Observation {
  readonly account?: ObservedAccount | Gone;
  readonly entitlement?: ObservedEntitlement | Gone;
}

/**
 * What an AWS message names. AWS has no API that reads a subscription's state, so the message
 * itself is part of what is observed, and GetEntitlements needs the product and the buyer.
 */
export interface AwsSubject {
  /** `null` only for agreement events, which name no product. */
  readonly productCode: string | null;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  /** Always starting with `arn:`. */
  readonly licenseArn?: string;
  readonly offerId?: string;
  readonly agreementId?: string;
  /** Said by SNS `isFreeTrialTermPresent`; EventBridge events do not say. */
  readonly freeTrial?: boolean;
}

/** A message, parsed at the edge into cloud-neutral terms. */
export interface MarketplaceEventCommand {
  readonly cloud: Cloud;
  readonly eventId: string;
  /** The marketplace's own event type, kept for the audit. */
  readonly type: string;
  readonly accountId: string | null;
  readonly entitlementId: string | null;
  /** What the message says happened, preferred when the marketplace's state allows it. */
  readonly hint: LifecycleEvent | null;
  readonly payload: unknown;
  /** When the marketplace sent it (SNS `Timestamp`, EventBridge `time`), where it says. */
  readonly sentAtEpochMs?: number;
  readonly aws?: AwsSubject;
}

export interface DecisionContext {
  readonly account: Account | null;
  readonly entitlement: Entitlement | null;
  readonly nowEpochMs: number;
  readonly eventTtlSeconds: number;
}

interface Outcome<T> {
  readonly next: T | null;
  readonly vendorEvents: readonly VendorEventType[];
  readonly stale: boolean;
}

const unchanged = <T>(stale = false): Outcome<T> => ({ next: null, vendorEvents: [], stale });

const isOlder = (observed: MarketplaceSnapshot, stored: MarketplaceSnapshot | null): boolean =>
  stored !== null && observed.updateTimeEpochMs < stored.updateTimeEpochMs;

/** Plain data in a form that ignores key order: stores do not keep the order of map keys. */
const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
};

const sameJson = (a: unknown, b: unknown): boolean =>
  JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** The cloud-neutral fields of an observation that the vendor cares about. */
const changesOf = (observed: ObservedEntitlement): EntitlementChanges => {
  const {
    accountId: _accountId,
    productId: _productId,
    status: _status,
    awaiting: _awaiting,
    statusImplied: _statusImplied,
    ...changes
  } = observed;
  return changes;
};

const dataChanged = (current: Entitlement, changes: EntitlementChanges): boolean =>
  (Object.keys(changes) as Array<keyof EntitlementChanges>).some(
    (key) => key !== 'snapshot' && !sameJson(current[key], changes[key]),
  );

/**
 * Picks the events that bring `current` to what the marketplace observed.
 *
 * A status only implied (see `ObservedEntitlement.statusImplied`) may end a purchase (its
 * contract is gone or expired), never move it otherwise: a scheduled cancellation stays
 * scheduled, an unconfirmed subscription unconfirmed. A status the marketplace reported is
 * reached whatever messages were lost in between.
 */
const eventsToward = (
  current: Entitlement,
  observed: ObservedEntitlement,
  hint: LifecycleEvent | null,
): LifecycleEvent[] | null => {
  const staysPut =
    observed.statusImplied === true &&
    !hasEnded(observed.status) &&
    nextStatus(current.status, LifecycleEvent.updated) !== null;
  const path = pathBetween(current.status, staysPut ? current.status : observed.status);
  if (path === null) return null;
  if (path.length > 0) {
    // Leaving a pending plan change on the old plan is the change withdrawn or rejected.
    const withdrawn =
      path[0] === LifecycleEvent.planChanged &&
      (hint === LifecycleEvent.planChangeCancelled ||
        (observed.plan !== undefined && observed.plan === current.plan));
    return withdrawn ? [LifecycleEvent.planChangeCancelled, ...path.slice(1)] : path;
  }
  const changes = changesOf(observed);
  if (hint === LifecycleEvent.renewed && current.status !== 'pending_approval') return [hint];
  if (
    observed.plan !== undefined &&
    observed.plan !== current.plan &&
    current.status === 'active'
  ) {
    return [LifecycleEvent.planChanged];
  }
  return dataChanged(current, changes) ? [LifecycleEvent.updated] : [];
};

/**
 * Decides what an observed entitlement means for the stored one. Order-proof: an observation
 * older than the stored snapshot changes nothing, and a newer one is reached along the state
 * table whatever messages were lost in between. A purchase of a deleted account, and one
 * already purged, is recorded without personal data: a later message (Pub/Sub keeps no order,
 * and the marketplace may still answer for the purchase) moves its status and dates only.
 */
export const decideEntitlement = (
  ref: { cloud: Cloud; id: string },
  current: Entitlement | null,
  reported: ObservedEntitlement | Gone,
  options: {
    nowEpochMs: number;
    hint: LifecycleEvent | null;
    tenantId: string | null;
    /** The purchase's account is stored deleted; false when the account was not read. */
    accountDeleted?: boolean;
  },
): Outcome<Entitlement> => {
  const { nowEpochMs, hint } = options;
  if (reported === GONE) {
    if (current === null || current.status === 'deleted') return unchanged();
    return {
      next: transition(current, LifecycleEvent.deleted, nowEpochMs),
      vendorEvents: [VendorEventType.entitlementDeleted],
      stale: false,
    };
  }
  // Taken without its personal data, and marked purged so that later messages, which may not
  // read the account, keep it so too.
  const keepsNoPersonalData =
    options.accountDeleted === true || (current !== null && current.purgedAtEpochMs !== null);
  const observed = keepsNoPersonalData ? withoutPersonalData(reported) : reported;
  const marked = (next: Entitlement): Entitlement =>
    keepsNoPersonalData ? { ...next, purgedAtEpochMs: next.purgedAtEpochMs ?? nowEpochMs } : next;
  if (current === null) {
    const created = newEntitlement(
      ref,
      {
        accountId: observed.accountId,
        productId: observed.productId,
        status: observed.status,
        ...changesOf(observed),
        tenantId: options.tenantId,
      },
      nowEpochMs,
    );
    // The vendor hears the steps a purchase first seen mid-life has already taken.
    const path = pathBetween('pending_approval', observed.status) ?? [];
    const first = vendorEventOfNewStatus(observed.status);
    return {
      next: marked(created),
      vendorEvents: [...(first ? [first] : []), ...path.map((event) => VENDOR_EVENT_OF[event])],
      stale: false,
    };
  }
  if (isOlder(observed.snapshot, current.snapshot)) return unchanged(true);
  const events = eventsToward(current, observed, hint);
  if (events === null) return unchanged();
  const changes = { ...changesOf(observed), tenantId: current.tenantId ?? options.tenantId };
  const next = events.reduce(
    (entitlement, event) => transition(entitlement, event, nowEpochMs, changes),
    current,
  );
  const snapshotMoved = !sameJson(current.snapshot, observed.snapshot);
  if (events.length === 0 && !snapshotMoved) return unchanged();
  return {
    next: marked(
      events.length === 0 ? { ...current, ...changes, updatedAtEpochMs: nowEpochMs } : next,
    ),
    vendorEvents: events.map((event) => VENDOR_EVENT_OF[event]),
    stale: false,
  };
};

/** An account as first recorded: waiting for its buyer's signup, with no tenant. */
const newAccount = (
  ref: { cloud: Cloud; id: string },
  snapshot: MarketplaceSnapshot | null,
  nowEpochMs: number,
): Account => ({
  cloud: ref.cloud,
  id: ref.id,
  status: AccountStatus.pendingSignup,
  tenant: null,
  signedUpAtEpochMs: null,
  personal: null,
  snapshot,
  version: 0,
  createdAtEpochMs: nowEpochMs,
  updatedAtEpochMs: nowEpochMs,
});

/** Decides what an observed account means for the stored one. */
export const decideAccount = (
  ref: { cloud: Cloud; id: string },
  current: Account | null,
  observed: ObservedAccount | Gone,
  nowEpochMs: number,
): Outcome<Account> => {
  if (observed === GONE) {
    if (current?.status === AccountStatus.deleted) return unchanged();
    // Google requires the buyer's data deleted at once: what identifies a person and the raw
    // account go; the ids and dates stay as an anonymised audit. An account never stored is
    // recorded deleted too, so that its purchases (stored, or first seen later) keep nothing;
    // the vendor hears of it either way, having heard of its purchases perhaps.
    return {
      next: {
        ...purgedAccount(current ?? newAccount(ref, null, nowEpochMs), nowEpochMs),
        status: AccountStatus.deleted,
      },
      vendorEvents: [VendorEventType.accountDeleted],
      stale: false,
    };
  }
  if (current === null) {
    return {
      next: { ...newAccount(ref, observed.snapshot, nowEpochMs), status: observed.status },
      vendorEvents: [],
      stale: false,
    };
  }
  if (isOlder(observed.snapshot, current.snapshot)) return unchanged(true);
  if (current.status === AccountStatus.deleted) return unchanged();
  // Only our verified signup activates an account (and gives it its tenant, which
  // `account.signed_up` names), and the marketplace cannot undo it. Google reports the account
  // approved as soon as the signup approves it, often before the signup's own write: taking
  // that status here would activate it without a tenant and leave the signup nothing to tell.
  if (sameJson(current.snapshot, observed.snapshot)) return unchanged();
  return {
    next: { ...current, snapshot: observed.snapshot, updatedAtEpochMs: nowEpochMs },
    vendorEvents: [],
    stale: false,
  };
};

/**
 * Whether a verified signup is news to the vendor, who then hears `account.signed_up` naming
 * the account's tenant in the signup's write: the account's first signup, or one that finds
 * the account without a tenant (an admin unlinked it) and so gives it a new one.
 */
export const isNewSignup = (current: Account | null): boolean =>
  current?.status !== AccountStatus.active || current.tenant === null;

/**
 * The account once its buyer's signup was verified: active, linked to its vendor tenant (a new
 * one when it has none: the first time, and after an admin unlinked it, the buyer having proved
 * again that the account is theirs), and the person who signed up kept apart as personal data.
 */
export const signedUpAccount = (
  ref: { cloud: Cloud; id: string },
  current: Account | null,
  options: { nowEpochMs: number; newTenantId: () => string; userIdentity?: string | null },
): Account => {
  const { nowEpochMs, userIdentity } = options;
  return {
    cloud: ref.cloud,
    id: ref.id,
    snapshot: null,
    createdAtEpochMs: nowEpochMs,
    ...current,
    status: AccountStatus.active,
    tenant: current?.tenant ?? { tenantId: options.newTenantId(), linkedAtEpochMs: nowEpochMs },
    signedUpAtEpochMs: current?.signedUpAtEpochMs ?? nowEpochMs,
    personal: userIdentity ? { ...current?.personal, userIdentity } : (current?.personal ?? null),
    version: current?.version ?? 0,
    updatedAtEpochMs: nowEpochMs,
  };
};

/**
 * What an entitlement event tells the vendor of the purchase, as it stands once the change is
 * recorded. Typed by the published schema (`docs/events/`), whose test checks that nothing
 * else is sent.
 */
export const entitlementEventData = (entitlement: Entitlement): EntitlementEventData => ({
  status: entitlement.status,
  plan: entitlement.plan,
  pendingPlan: entitlement.pendingPlan,
  productId: entitlement.productId,
  offerId: entitlement.offer?.id ?? null,
  freeTrial: entitlement.freeTrial,
  contract: entitlement.contract.map(({ dimension, value, expiresAtEpochMs }) => ({
    dimension,
    value,
    expiresAt: expiresAtEpochMs === null ? null : new Date(expiresAtEpochMs).toISOString(),
  })),
});

/** Outbox rows for the vendor events of one decision; ids are stable per message and index. */
export const outboxMessagesFor = (
  command: Pick<MarketplaceEventCommand, 'cloud' | 'eventId'>,
  vendorEvents: readonly VendorEventType[],
  subject: { accountId: string | null; entitlement: Entitlement | null; tenantId: string | null },
  nowEpochMs: number,
  startIndex = 0,
): OutboxMessage[] =>
  vendorEvents.map((type, index) => ({
    id: `${command.cloud}:${command.eventId}:${startIndex + index}`,
    type,
    version: VENDOR_EVENT_VERSION,
    cloud: command.cloud,
    accountId: subject.accountId,
    entitlementId: subject.entitlement?.id ?? null,
    tenantId: subject.tenantId,
    occurredAtEpochMs: nowEpochMs,
    data: subject.entitlement ? entitlementEventData(subject.entitlement) : {},
    attempts: 0,
    nextAttemptAtEpochMs: nowEpochMs,
    lastError: null,
    status: OutboxStatus.pending,
    deliveredTo: [],
    claimId: null,
    replayedAtEpochMs: null,
  }));

/**
 * Turns one message and what the marketplace says now into the one write that records it.
 * Pure: the same inputs always give the same decision.
 */
export const decideEvent = (
  command: MarketplaceEventCommand,
  observation: Observation,
  context: DecisionContext,
): Decision => {
  const { nowEpochMs } = context;
  const accountRef = command.accountId ? { cloud: command.cloud, id: command.accountId } : null;
  const entitlementRef = command.entitlementId
    ? { cloud: command.cloud, id: command.entitlementId }
    : null;

  const accountOutcome =
    accountRef && observation.account !== undefined
      ? decideAccount(accountRef, context.account, observation.account, nowEpochMs)
      : unchanged<Account>();
  const account = accountOutcome.next ?? context.account;
  const tenantId = account?.tenant?.tenantId ?? null;

  const entitlementOutcome =
    entitlementRef && observation.entitlement !== undefined
      ? decideEntitlement(entitlementRef, context.entitlement, observation.entitlement, {
          nowEpochMs,
          hint: command.hint,
          tenantId,
          accountDeleted: account?.status === AccountStatus.deleted,
        })
      : unchanged<Entitlement>();

  const accountMessages = outboxMessagesFor(
    command,
    accountOutcome.vendorEvents,
    { accountId: accountRef?.id ?? null, entitlement: null, tenantId },
    nowEpochMs,
  );
  const entitlement = entitlementOutcome.next ?? context.entitlement;
  const entitlementMessages = outboxMessagesFor(
    command,
    entitlementOutcome.vendorEvents,
    {
      accountId: entitlement?.accountId ?? accountRef?.id ?? null,
      entitlement,
      tenantId: entitlement?.tenantId ?? tenantId,
    },
    nowEpochMs,
    accountMessages.length,
  );

  const changed = accountOutcome.next !== null || entitlementOutcome.next !== null;
  const stale = accountOutcome.stale || entitlementOutcome.stale;
  return {
    event: {
      cloud: command.cloud,
      eventId: command.eventId,
      type: command.type,
      accountId: accountRef?.id ?? null,
      entitlementId: entitlementRef?.id ?? null,
      outcome: changed ? EventOutcome.applied : stale ? EventOutcome.stale : EventOutcome.ignored,
      reason: changed ? null : stale ? 'older than the stored snapshot' : 'nothing changed',
      payload: command.payload,
      receivedAtEpochMs: nowEpochMs,
      expiresAtEpochSeconds: Math.floor(nowEpochMs / 1000) + context.eventTtlSeconds,
    },
    account: accountOutcome.next
      ? { next: accountOutcome.next, expectedVersion: context.account?.version ?? 0 }
      : null,
    entitlement: entitlementOutcome.next
      ? { next: entitlementOutcome.next, expectedVersion: context.entitlement?.version ?? 0 }
      : null,
    outbox: [...accountMessages, ...entitlementMessages],
  };
};

/** The decision that only records a message that cannot be processed, with the reason. */
export const deadLetterDecision = (
  command: Pick<MarketplaceEventCommand, 'cloud' | 'eventId' | 'type' | 'payload'>,
  reason: string,
  nowEpochMs: number,
  eventTtlSeconds: number,
): Decision => ({
  event: {
    cloud: command.cloud,
    eventId: command.eventId,
    type: command.type,
    accountId: null,
    entitlementId: null,
    outcome: EventOutcome.deadLetter,
    reason,
    payload: command.payload,
    receivedAtEpochMs: nowEpochMs,
    expiresAtEpochSeconds: Math.floor(nowEpochMs / 1000) + eventTtlSeconds,
  },
  account: null,
  entitlement: null,
  outbox: [],
});
