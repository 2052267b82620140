import { Timestamp } from '@google-cloud/firestore';
import type { DocumentData, FieldValue } from '@google-cloud/firestore';
import type {
  Account,
  AccountRef,
  Cloud,
  ContractQuantity,
  DeliveryAttempt,
  Entitlement,
  EntitlementRef,
  EventRecord,
  MarketplaceSnapshot,
  Offer,
  OutboxMessage,
  OutboxStatus,
  PersonalData,
  UsageAnswer,
  UsageHour,
  UsageHourKey,
} from '../../domain/model';
import { outboxOrderingKey } from '../../domain/model';
import type { CountedUsage } from '../../ports/store';
import { toIsoHour } from '../../domain/time';
import { allocationsOf } from '../../domain/usage-allocations';

/**
 * How records become Firestore documents and back. Only plain model data crosses the port:
 * helper fields (sort keys, due and unsent markers) are dropped, Timestamps become epoch numbers
 * again, and foreign-shaped blobs are parsed back from JSON.
 *
 * Why blobs (`snapshot.data`, an event's `payload`, an outbox message's `data`) are stored as JSON
 * strings: they are whatever the marketplace or the vendor sent, and Firestore refuses nested
 * arrays and reserved `__name__`-like keys, and indexes every leaf of a map. A string keeps them
 * byte for byte, costs one index entry (or none, see FIRESTORE_INDEXES) and cannot fail a write.
 */

/** Collection ids, each behind the optional prefix so that deployments can share a database. */
export interface Collections {
  readonly accounts: string;
  readonly entitlements: string;
  readonly events: string;
  readonly outbox: string;
  readonly usageHours: string;
  /** One document per usage id counted, in whatever hour. */
  readonly usageIds: string;
  /** One document per sealed hour, under the hour's id. */
  readonly usageSeals: string;
  /** Subcollection of each outbox message document: its delivery log. */
  readonly deliveryAttempts: string;
}

export const collectionsFor = (prefix: string): Collections => ({
  accounts: `${prefix}accounts`,
  entitlements: `${prefix}entitlements`,
  events: `${prefix}events`,
  outbox: `${prefix}outbox`,
  usageHours: `${prefix}usageHours`,
  usageIds: `${prefix}usageIds`,
  usageSeals: `${prefix}usageSeals`,
  deliveryAttempts: `${prefix}deliveries`,
});

/**
 * A key as a document id segment. base64url because ids such as AWS LicenseArns hold `/`, which
 * cannot appear in a document id, and `.`/`..`/`__x__`, which are reserved; it also keeps a
 * 512-byte key at 683 bytes, under the 1,500-byte id limit even with two keys in one id.
 */
export const encodeKey = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

export const accountDocId = (ref: AccountRef): string => `${ref.cloud}:${encodeKey(ref.id)}`;
export const entitlementDocId = (ref: EntitlementRef): string =>
  `${ref.cloud}:${encodeKey(ref.id)}`;
export const eventDocId = (cloud: Cloud, eventId: string): string =>
  `${cloud}:${encodeKey(eventId)}`;
export const outboxDocId = (id: string): string => encodeKey(id);
export const usageHourDocId = (key: UsageHourKey): string =>
  `${key.cloud}:${encodeKey(key.entitlementId)}:${encodeKey(key.dimension)}:${toIsoHour(key.hourStartEpochMs)}`;
export const usageIdDocId = (usageId: string): string => encodeKey(usageId);

/** Widest zero-padded epoch ms; 16 digits cover every safe integer. */
const EPOCH_MS_DIGITS = 16;
/** Non-negative safe integers (epoch ms, attempt numbers), zero-padded so they sort as text. */
const padded = (value: number): string => String(value).padStart(EPOCH_MS_DIGITS, '0');

/**
 * Follows `|` in code order: appended to a key's fixed-width head, it sorts above every key
 * that continues that head with `|` and below every key with a larger head.
 */
const ABOVE_SEPARATOR = '}';

/**
 * Where an attempt sits in its message's log, which is also its document id (encoded): oldest
 * first, and one entry per (time, attempt, endpoint). The endpoint id is the one free-form
 * part, so it comes last and the pair cannot collide.
 */
export const deliveryAttemptSortKey = (
  attempt: Pick<DeliveryAttempt, 'atEpochMs' | 'attempt' | 'endpointId'>,
): string => `${padded(attempt.atEpochMs)}|${padded(attempt.attempt)}|${attempt.endpointId}`;
export const deliveryAttemptDocId = (
  attempt: Pick<DeliveryAttempt, 'atEpochMs' | 'attempt' | 'endpointId'>,
): string =>
  `${padded(attempt.atEpochMs)}:${padded(attempt.attempt)}:${encodeKey(attempt.endpointId)}`;

/**
 * Listing order of the outbox by time and of a key's pending messages: occurrence time, then
 * id. Unique, since the time has a fixed width.
 */
export const outboxTimeKey = (message: Pick<OutboxMessage, 'occurredAtEpochMs' | 'id'>): string =>
  `${padded(message.occurredAtEpochMs)}|${message.id}`;

/** Time keys of messages that occurred in `[fromEpochMs, toEpochMs)`: `>= low`, `< high`. */
export const outboxTimeBounds = (
  fromEpochMs: number,
  toEpochMs: number,
): { low: string; high: string } => ({ low: padded(fromEpochMs), high: padded(toEpochMs) });

/**
 * Listing order of one entitlement's hours: the ISO hour (fixed width), then the dimension, so
 * unique among them.
 */
export const usageHourSortKey = (key: Pick<UsageHourKey, 'hourStartEpochMs' | 'dimension'>) =>
  `${toIsoHour(key.hourStartEpochMs)}|${key.dimension}`;

/**
 * Hour keys of the hours that start from `firstHourStart` to `lastHourStart`, both hour
 * starts: `>= low`, `< high`.
 */
export const usageHourBounds = (
  firstHourStart: number,
  lastHourStart: number,
): { low: string; high: string } => ({
  low: toIsoHour(firstHourStart),
  high: `${toIsoHour(lastHourStart)}${ABOVE_SEPARATOR}`,
});

/**
 * Listing order of entitlements (and of accounts, whose keys have the same shape): unique and
 * never changing for a given record, so keyset paging neither skips nor repeats while statuses
 * and tenants move. The cloud has no `|`, so the first `|` splits the pair and distinct pairs
 * never collide.
 */
export const entitlementSortKey = (ref: EntitlementRef): string => `${ref.cloud}|${ref.id}`;

/**
 * Present while an hour is neither sent nor rejected: the cloud first (so one range scan serves
 * one cloud without a composite index), then the ISO hour (oldest first), then the encoded
 * entitlement and dimension, whose alphabet has no `|`, to make it unique.
 */
export const unsentKeyPrefix = (cloud: Cloud): string => `${cloud}|`;
export const unsentKey = (key: UsageHourKey): string =>
  `${unsentKeyPrefix(key.cloud)}${toIsoHour(key.hourStartEpochMs)}|${encodeKey(key.entitlementId)}|${encodeKey(key.dimension)}`;

const toJson = (value: unknown): string | null =>
  value === undefined ? null : (JSON.stringify(value) ?? null);
const fromJson = (text: unknown): unknown =>
  typeof text === 'string' ? (JSON.parse(text) as unknown) : undefined;

const snapshotToDoc = (snapshot: MarketplaceSnapshot | null): DocumentData | null =>
  snapshot === null
    ? null
    : { updateTimeEpochMs: snapshot.updateTimeEpochMs, dataJson: toJson(snapshot.data) };

const snapshotFromDoc = (doc: DocumentData | null | undefined): MarketplaceSnapshot | null =>
  doc
    ? {
        updateTimeEpochMs: doc.updateTimeEpochMs as number,
        data: (fromJson(doc.dataJson) ?? {}) as Record<string, unknown>,
      }
    : null;

/** Copies only the keys that are set: a client without `ignoreUndefinedProperties` refuses them. */
const personalToDoc = (personal: PersonalData | null): DocumentData | null =>
  personal === null
    ? null
    : Object.fromEntries(Object.entries(personal).filter(([, value]) => value !== undefined));

const personalFromDoc = (doc: DocumentData | null | undefined): PersonalData | null => {
  if (!doc) return null;
  const personal: { userIdentity?: string; email?: string; name?: string } = {};
  if (typeof doc.userIdentity === 'string') personal.userIdentity = doc.userIdentity;
  if (typeof doc.email === 'string') personal.email = doc.email;
  if (typeof doc.name === 'string') personal.name = doc.name;
  return personal;
};

/**
 * `tenantId` copies `tenant.tenantId` to the top level, where the in-process emulator can
 * filter on it (it reads no nested field paths); `sortKey` orders the tenant's accounts.
 */
export const accountToDoc = (account: Account): DocumentData => ({
  cloud: account.cloud,
  id: account.id,
  status: account.status,
  tenant: account.tenant
    ? { tenantId: account.tenant.tenantId, linkedAtEpochMs: account.tenant.linkedAtEpochMs }
    : null,
  signedUpAtEpochMs: account.signedUpAtEpochMs,
  personal: personalToDoc(account.personal),
  snapshot: snapshotToDoc(account.snapshot),
  version: account.version,
  createdAtEpochMs: account.createdAtEpochMs,
  updatedAtEpochMs: account.updatedAtEpochMs,
  tenantId: account.tenant?.tenantId ?? null,
  sortKey: entitlementSortKey(account),
});

export const accountFromDoc = (doc: DocumentData): Account => ({
  cloud: doc.cloud as Cloud,
  id: doc.id as string,
  status: doc.status as Account['status'],
  tenant: doc.tenant
    ? {
        tenantId: doc.tenant.tenantId as string,
        linkedAtEpochMs: doc.tenant.linkedAtEpochMs as number,
      }
    : null,
  signedUpAtEpochMs: (doc.signedUpAtEpochMs ?? null) as number | null,
  personal: personalFromDoc(doc.personal as DocumentData | null),
  snapshot: snapshotFromDoc(doc.snapshot as DocumentData | null),
  version: doc.version as number,
  createdAtEpochMs: doc.createdAtEpochMs as number,
  updatedAtEpochMs: doc.updatedAtEpochMs as number,
});

const offerToDoc = (offer: Offer | null): DocumentData | null =>
  offer === null
    ? null
    : {
        id: offer.id,
        startEpochMs: offer.startEpochMs,
        endEpochMs: offer.endEpochMs,
        duration: offer.duration,
      };

const offerFromDoc = (doc: DocumentData | null | undefined): Offer | null =>
  doc
    ? {
        id: doc.id as string,
        startEpochMs: (doc.startEpochMs ?? null) as number | null,
        endEpochMs: (doc.endEpochMs ?? null) as number | null,
        duration: (doc.duration ?? null) as string | null,
      }
    : null;

const contractToDoc = (contract: readonly ContractQuantity[]): DocumentData[] =>
  contract.map((quantity) => ({
    dimension: quantity.dimension,
    value: quantity.value,
    expiresAtEpochMs: quantity.expiresAtEpochMs,
  }));

const contractFromDoc = (doc: unknown): ContractQuantity[] =>
  Array.isArray(doc)
    ? doc.map((quantity: DocumentData) => ({
        dimension: quantity.dimension as string,
        value: quantity.value as ContractQuantity['value'],
        expiresAtEpochMs: (quantity.expiresAtEpochMs ?? null) as number | null,
      }))
    : [];

export const entitlementToDoc = (entitlement: Entitlement): DocumentData => ({
  cloud: entitlement.cloud,
  id: entitlement.id,
  accountId: entitlement.accountId,
  productId: entitlement.productId,
  status: entitlement.status,
  plan: entitlement.plan,
  pendingPlan: entitlement.pendingPlan,
  offer: offerToDoc(entitlement.offer),
  pendingOffer: offerToDoc(entitlement.pendingOffer),
  freeTrial: entitlement.freeTrial,
  contract: contractToDoc(entitlement.contract),
  usageReportingId: entitlement.usageReportingId,
  tenantId: entitlement.tenantId,
  snapshot: snapshotToDoc(entitlement.snapshot),
  endedAtEpochMs: entitlement.endedAtEpochMs,
  purgedAtEpochMs: entitlement.purgedAtEpochMs,
  version: entitlement.version,
  createdAtEpochMs: entitlement.createdAtEpochMs,
  updatedAtEpochMs: entitlement.updatedAtEpochMs,
  sortKey: entitlementSortKey(entitlement),
});

export const entitlementFromDoc = (doc: DocumentData): Entitlement => ({
  cloud: doc.cloud as Cloud,
  id: doc.id as string,
  accountId: doc.accountId as string,
  productId: doc.productId as string,
  status: doc.status as Entitlement['status'],
  plan: (doc.plan ?? null) as string | null,
  pendingPlan: (doc.pendingPlan ?? null) as string | null,
  offer: offerFromDoc(doc.offer as DocumentData | null),
  pendingOffer: offerFromDoc(doc.pendingOffer as DocumentData | null),
  freeTrial: doc.freeTrial === true,
  contract: contractFromDoc(doc.contract),
  usageReportingId: (doc.usageReportingId ?? null) as string | null,
  tenantId: (doc.tenantId ?? null) as string | null,
  snapshot: snapshotFromDoc(doc.snapshot as DocumentData | null),
  endedAtEpochMs: (doc.endedAtEpochMs ?? null) as number | null,
  purgedAtEpochMs: (doc.purgedAtEpochMs ?? null) as number | null,
  version: doc.version as number,
  createdAtEpochMs: doc.createdAtEpochMs as number,
  updatedAtEpochMs: doc.updatedAtEpochMs as number,
});

/** `expiresAt` is a Timestamp because a Firestore TTL policy only acts on Timestamp fields. */
export const eventToDoc = (event: EventRecord): DocumentData => ({
  cloud: event.cloud,
  eventId: event.eventId,
  type: event.type,
  accountId: event.accountId,
  entitlementId: event.entitlementId,
  outcome: event.outcome,
  reason: event.reason,
  payloadJson: toJson(event.payload),
  receivedAtEpochMs: event.receivedAtEpochMs,
  expiresAt: new Timestamp(event.expiresAtEpochSeconds, 0),
});

export const eventFromDoc = (doc: DocumentData): EventRecord => ({
  cloud: doc.cloud as Cloud,
  eventId: doc.eventId as string,
  type: doc.type as string,
  accountId: (doc.accountId ?? null) as string | null,
  entitlementId: (doc.entitlementId ?? null) as string | null,
  outcome: doc.outcome as EventRecord['outcome'],
  reason: (doc.reason ?? null) as string | null,
  payload: fromJson(doc.payloadJson),
  receivedAtEpochMs: doc.receivedAtEpochMs as number,
  expiresAtEpochSeconds: (doc.expiresAt as Timestamp).seconds,
});

/**
 * While a message is pending, `dueAtEpochMs` mirrors `nextAttemptAtEpochMs` and
 * `pendingOrderingKey` holds its ordering key; both are null otherwise, so the claim query
 * (a range over `dueAtEpochMs` alone) and the ordering listing see pending messages only.
 * `timeKey` orders the outbox by time, whatever the status.
 */
export const outboxToDoc = (message: OutboxMessage): DocumentData => {
  const pending = message.status === 'pending';
  return {
    id: message.id,
    type: message.type,
    version: message.version,
    cloud: message.cloud,
    accountId: message.accountId,
    entitlementId: message.entitlementId,
    tenantId: message.tenantId,
    occurredAtEpochMs: message.occurredAtEpochMs,
    dataJson: toJson(message.data),
    attempts: message.attempts,
    nextAttemptAtEpochMs: message.nextAttemptAtEpochMs,
    lastError: message.lastError,
    status: message.status,
    deliveredTo: deliveredToOf(message.deliveredTo),
    claimId: message.claimId,
    replayedAtEpochMs: message.replayedAtEpochMs,
    dueAtEpochMs: pending ? message.nextAttemptAtEpochMs : null,
    pendingOrderingKey: pending ? outboxOrderingKey(message) : null,
    timeKey: outboxTimeKey(message),
  };
};

/** A set: each endpoint once, sorted, so that every write and read agree on one form. */
export const deliveredToOf = (ids: unknown): string[] =>
  Array.isArray(ids)
    ? [...new Set(ids.filter((id): id is string => typeof id === 'string'))].sort()
    : [];

/**
 * Documents written before messages had a status are pending exactly while they are due
 * (acking was the only way out), and delivered otherwise.
 */
export const outboxFromDoc = (doc: DocumentData): OutboxMessage => ({
  id: doc.id as string,
  type: doc.type as string,
  version: doc.version as number,
  cloud: doc.cloud as Cloud,
  accountId: (doc.accountId ?? null) as string | null,
  entitlementId: (doc.entitlementId ?? null) as string | null,
  tenantId: (doc.tenantId ?? null) as string | null,
  occurredAtEpochMs: doc.occurredAtEpochMs as number,
  data: (fromJson(doc.dataJson) ?? {}) as Record<string, unknown>,
  attempts: doc.attempts as number,
  nextAttemptAtEpochMs: doc.nextAttemptAtEpochMs as number,
  lastError: (doc.lastError ?? null) as string | null,
  status: (doc.status ??
    (typeof doc.dueAtEpochMs === 'number' ? 'pending' : 'delivered')) as OutboxStatus,
  deliveredTo: deliveredToOf(doc.deliveredTo),
  claimId: typeof doc.claimId === 'string' ? doc.claimId : null,
  replayedAtEpochMs: (doc.replayedAtEpochMs ?? null) as number | null,
});

/** The expiry is a Timestamp for the TTL policy, as for event records. */
export const deliveryAttemptToDoc = (attempt: DeliveryAttempt): DocumentData => ({
  messageId: attempt.messageId,
  endpointId: attempt.endpointId,
  attempt: attempt.attempt,
  atEpochMs: attempt.atEpochMs,
  statusCode: attempt.statusCode,
  latencyMs: attempt.latencyMs,
  outcome: attempt.outcome,
  error: attempt.error,
  expiresAt: new Timestamp(attempt.expiresAtEpochSeconds, 0),
  sortKey: deliveryAttemptSortKey(attempt),
});

export const deliveryAttemptFromDoc = (doc: DocumentData): DeliveryAttempt => ({
  messageId: doc.messageId as string,
  endpointId: doc.endpointId as string,
  attempt: doc.attempt as number,
  atEpochMs: doc.atEpochMs as number,
  statusCode: (doc.statusCode ?? null) as number | null,
  latencyMs: doc.latencyMs as number,
  outcome: doc.outcome as DeliveryAttempt['outcome'],
  error: (doc.error ?? null) as string | null,
  expiresAtEpochSeconds: (doc.expiresAt as Timestamp).seconds,
});

const answerToDoc = (answer: UsageAnswer | null): DocumentData | null =>
  answer === null
    ? null
    : {
        status: answer.status,
        meteringRecordId: answer.meteringRecordId,
        reason: answer.reason,
        atEpochMs: answer.atEpochMs,
      };

const answerFromDoc = (doc: DocumentData | null | undefined): UsageAnswer | null =>
  doc
    ? {
        status: doc.status as string,
        meteringRecordId: (doc.meteringRecordId ?? null) as string | null,
        reason: (doc.reason ?? null) as string | null,
        atEpochMs: doc.atEpochMs as number,
      }
    : null;

/**
 * The fields of an open hour; `quantity` is given so that it can be an increment. `hourKey`
 * orders an entitlement's hours (see `usageHourSortKey`).
 */
export const newUsageHourDoc = (
  key: UsageHourKey,
  quantity: number | FieldValue,
  nowEpochMs: number,
): DocumentData => ({
  cloud: key.cloud,
  entitlementId: key.entitlementId,
  dimension: key.dimension,
  hourStartEpochMs: key.hourStartEpochMs,
  quantity,
  state: 'open',
  sealedAtEpochMs: null,
  answer: null,
  updatedAtEpochMs: nowEpochMs,
  unsentKey: unsentKey(key),
  hourKey: usageHourSortKey(key),
});

/** The fields `sealUsageHour` and `markUsageHour` change. */
export const usageHourChangesToDoc = (hour: UsageHour): DocumentData => ({
  state: hour.state,
  sealedAtEpochMs: hour.sealedAtEpochMs,
  answer: answerToDoc(hour.answer),
  updatedAtEpochMs: hour.updatedAtEpochMs,
  unsentKey: hour.state === 'sent' || hour.state === 'rejected' ? null : unsentKey(hour),
});

/**
 * A usage hour's tag sets are top-level fields, per set `alloc_<id>` (its total, an increment)
 * and `allocTags_<id>` (its canonical tags as JSON, see `canonicalTags`). Not a map keyed by the
 * id: the in-process emulator implements increments of top-level fields only, and a JSON string
 * keeps tag keys such as `__x__` or `a.b`, which a field name could not.
 */
const ALLOCATION_PREFIX = 'alloc_';
const ALLOCATION_TAGS_PREFIX = 'allocTags_';

export const allocationFields = (setId: string) => ({
  quantity: `${ALLOCATION_PREFIX}${setId}`,
  tags: `${ALLOCATION_TAGS_PREFIX}${setId}`,
});

/** The hour's tag sets, by id, with their canonical tags. */
const tagSetsOfDoc = (doc: DocumentData | undefined): Map<string, string> => {
  const sets = new Map<string, string>();
  for (const [name, value] of Object.entries(doc ?? {})) {
    if (name.startsWith(ALLOCATION_TAGS_PREFIX) && typeof value === 'string') {
      sets.set(name.slice(ALLOCATION_TAGS_PREFIX.length), value);
    }
  }
  return sets;
};

const allocationsFromDoc = (doc: DocumentData): UsageHour['allocations'] =>
  allocationsOf(
    doc.quantity as number,
    [...tagSetsOfDoc(doc)].map(([id, canonical]) => ({
      canonical,
      quantity: (doc[allocationFields(id).quantity] ?? 0) as number,
    })),
  );

export const usageHourFromDoc = (doc: DocumentData): UsageHour => ({
  cloud: doc.cloud as Cloud,
  entitlementId: doc.entitlementId as string,
  dimension: doc.dimension as string,
  hourStartEpochMs: doc.hourStartEpochMs as number,
  quantity: doc.quantity as number,
  allocations: allocationsFromDoc(doc),
  state: doc.state as UsageHour['state'],
  sealedAtEpochMs: (doc.sealedAtEpochMs ?? null) as number | null,
  answer: answerFromDoc(doc.answer as DocumentData | null),
  updatedAtEpochMs: doc.updatedAtEpochMs as number,
});

/**
 * A usage id already counted in its hour, and which hour. `attempt` names the commit that
 * created it, so that a retry can tell its own leftovers from an engine that applied part of a
 * failed commit.
 */
export const usageIdToDoc = (
  usageId: string,
  hour: UsageHourKey,
  quantity: number,
  expiresAtEpochSeconds: number,
  attempt: string,
): DocumentData => ({
  usageId,
  cloud: hour.cloud,
  entitlementId: hour.entitlementId,
  dimension: hour.dimension,
  hourStartEpochMs: hour.hourStartEpochMs,
  quantity,
  attempt,
  expiresAt: new Timestamp(expiresAtEpochSeconds, 0),
});

/** What a usage id's marker says; one written before markers kept their hour names none. */
export const countedUsageFromDoc = (doc: DocumentData): CountedUsage => ({
  usageId: doc.usageId as string,
  quantity: doc.quantity as number,
  hour:
    typeof doc.hourStartEpochMs === 'number'
      ? {
          cloud: doc.cloud as Cloud,
          entitlementId: doc.entitlementId as string,
          dimension: doc.dimension as string,
          hourStartEpochMs: doc.hourStartEpochMs,
        }
      : null,
});
