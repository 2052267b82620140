/**
 * Keys and mappers between the cloud-neutral model and the table's items (layout in
 * `table.ts`). Only these functions know which attributes are DynamoDB's own, so nothing
 * else can leak a key or an index attribute through the port.
 */
import type {
  Account,
  AccountRef,
  Cloud,
  DeliveryAttempt,
  Entitlement,
  EntitlementRef,
  EntitlementStatus,
  EventRecord,
  OutboxMessage,
  OutboxStatus,
  UsageHour,
  UsageHourKey,
} from '../../domain/model';
import { outboxOrderingKey } from '../../domain/model';
import type { CountedUsage } from '../../ports/store';
import { HOUR_MS, hourStartEpochMs, toIsoHour } from '../../domain/time';
import { allocationsOf, canonicalTags } from '../../domain/usage-allocations';
import { INDEXES, TTL_ATTRIBUTE } from './table';
import { MAX_HOUR_START_EPOCH_MS } from './validation';

export type Item = Record<string, unknown>;

export interface TableKey {
  readonly pk: string;
  readonly sk: string;
}

/** Attributes the adapter adds; never part of a record handed back through the port. */
const ADAPTER_ATTRIBUTES = new Set<string>([
  'pk',
  'sk',
  'entity',
  TTL_ATTRIBUTE,
  ...Object.values(INDEXES).flatMap((index) => [index.pk, index.sk]),
]);

/** Widest zero-padded number (epoch ms, attempt); 16 digits cover every safe integer. */
const EPOCH_MS_DIGITS = 16;

export const accountKey = (ref: AccountRef): TableKey => ({
  pk: `ACCT#${ref.cloud}#${ref.id}`,
  sk: 'ACCT',
});

export const entitlementKey = (ref: EntitlementRef): TableKey => ({
  pk: `ENT#${ref.cloud}#${ref.id}`,
  sk: 'ENT',
});

export const eventKey = (cloud: Cloud, eventId: string): TableKey => ({
  pk: `EVT#${cloud}#${eventId}`,
  sk: 'EVT',
});

export const outboxKey = (id: string): TableKey => ({ pk: `OUT#${id}`, sk: 'OUT' });

/** What each kind of item's sort key starts with, where one partition holds several kinds. */
export const sortKeyPrefixes = {
  account: 'ACCT#',
  entitlement: 'ENT#',
  deliveryAttempt: 'DLV#',
  usageHour: 'HOUR#',
} as const;

/**
 * A delivery attempt lives in its message's partition. The endpoint id is the one free-form
 * part, so it comes last; time and attempt have a fixed width, so the log reads oldest first.
 */
export const deliveryAttemptKey = (
  attempt: Pick<DeliveryAttempt, 'messageId' | 'atEpochMs' | 'attempt' | 'endpointId'>,
): TableKey => ({
  pk: outboxKey(attempt.messageId).pk,
  sk: [
    `${sortKeyPrefixes.deliveryAttempt}${padded(attempt.atEpochMs)}`,
    padded(attempt.attempt),
    attempt.endpointId,
  ].join('#'),
});

export const usageHourKey = (key: UsageHourKey): TableKey => ({
  pk: partitions.usageHoursOf(key.cloud, key.entitlementId),
  sk: `${sortKeyPrefixes.usageHour}${toIsoHour(key.hourStartEpochMs)}#${key.dimension}`,
});

export const usageIdKey = (usageId: string): TableKey => ({
  pk: `USAGEID#${usageId}`,
  sk: 'USAGEID',
});

/** Partition values, one per listing. */
export const partitions = {
  entitlementsOfAccount: (cloud: Cloud, accountId: string): string => `ACCT#${cloud}#${accountId}`,
  /** A tenant's entitlements and accounts: each listing reads its own sort-key prefix. */
  ofTenant: (tenantId: string): string => `TENANT#${tenantId}`,
  entitlementsInStatus: (status: EntitlementStatus): string => `ENTSTATUS#${status}`,
  outboxDue: 'OUTBOX#DUE',
  outboxByTime: 'OUTBOX',
  pendingOutboxOf: (orderingKey: string): string => `OUTORD#${orderingKey}`,
  deliveryAttemptsOf: (messageId: string): string => outboxKey(messageId).pk,
  usageHoursOf: (cloud: Cloud, entitlementId: string): string => `USAGE#${cloud}#${entitlementId}`,
  unsentUsage: (cloud: Cloud): string => `UNSENT#${cloud}`,
} as const;

/** Non-negative safe integers (epoch ms, attempt numbers), zero-padded so they sort as text. */
const padded = (value: number): string => String(value).padStart(EPOCH_MS_DIGITS, '0');

/**
 * Follows `#` in code order: appended to a key's fixed-width head, it sorts above every key
 * that continues that head with `#` and below every key with a larger head.
 */
const ABOVE_SEPARATOR = '$';

/** Sorts a message among the outbox by time, and among its ordering key's pending messages. */
export const outboxTimeSortKey = (message: Pick<OutboxMessage, 'occurredAtEpochMs' | 'id'>) =>
  `${padded(message.occurredAtEpochMs)}#${message.id}`;

/**
 * Bounds (for `BETWEEN`) of the outbox-by-time sort keys of messages that occurred in
 * `[fromEpochMs, toEpochMs)`; `null` when that range is empty.
 */
export const outboxTimeRange = (
  fromEpochMs: number,
  toEpochMs: number,
): readonly [string, string] | null =>
  toEpochMs <= fromEpochMs
    ? null
    : [padded(fromEpochMs), `${padded(toEpochMs - 1)}${ABOVE_SEPARATOR}`];

/**
 * Bounds (for `BETWEEN`) of the sort keys of an entitlement's hours that start in
 * `[fromEpochMs, toEpochMs)`; `null` when no hour start is in it. Hours past year 9999 cannot
 * exist (see `MAX_HOUR_START_EPOCH_MS`), and their ISO form would not sort.
 */
export const usageHourRange = (
  fromEpochMs: number,
  toEpochMs: number,
): readonly [string, string] | null => {
  const first = Math.ceil(fromEpochMs / HOUR_MS) * HOUR_MS;
  const last =
    toEpochMs === 0 ? -1 : Math.min(hourStartEpochMs(toEpochMs - 1), MAX_HOUR_START_EPOCH_MS);
  if (first > last) return null;
  const prefix = sortKeyPrefixes.usageHour;
  return [`${prefix}${toIsoHour(first)}`, `${prefix}${toIsoHour(last)}${ABOVE_SEPARATOR}`];
};

/** Sorts the due list by time, then id, so equal times still come back in a stable order. */
export const outboxDueSortKey = (nextAttemptAtEpochMs: number, id: string): string =>
  `${padded(nextAttemptAtEpochMs)}#${id}`;

/** Every due-list sort key of a message due at or before `epochMs` sorts below this. */
export const outboxDueBefore = (epochMs: number): string => padded(epochMs + 1);

export const unsentSortKey = (key: UsageHourKey): string =>
  `${toIsoHour(key.hourStartEpochMs)}#${key.entitlementId}`;

/**
 * Every unsent-list sort key of an hour that has ended at `epochMs` sorts below this. The
 * hour containing `epochMs` is the first one still open, and ISO hours have one width, so its
 * string bounds every earlier hour's keys.
 */
export const unsentEndedBy = (epochMs: number): string => toIsoHour(hourStartEpochMs(epochMs));

/**
 * Drops `undefined` object properties (optional fields left unset) so an item marshals
 * whatever options the caller's document client was built with; in lists it becomes `null`,
 * as JSON does.
 */
const compact = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : compact(item)));
  if (value === null || typeof value !== 'object' || !isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => [key, compact(item)]),
  );
};

const isPlainObject = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};

const withoutAdapterAttributes = (item: Item): Item =>
  Object.fromEntries(Object.entries(item).filter(([key]) => !ADAPTER_ATTRIBUTES.has(key)));

const record = (entity: string, key: TableKey, data: object, extra: Item = {}): Item => ({
  ...(compact(data) as Item),
  entity,
  ...key,
  ...extra,
});

export const accountToItem = (account: Account): Item =>
  record(
    'account',
    accountKey(account),
    account,
    // A Put replaces the whole item, so an account that loses its tenant leaves gsi2.
    account.tenant === null
      ? {}
      : {
          [INDEXES.byTenant.pk]: partitions.ofTenant(account.tenant.tenantId),
          [INDEXES.byTenant.sk]: `${sortKeyPrefixes.account}${account.cloud}#${account.id}`,
        },
  );

export const accountFromItem = (item: Item): Account =>
  withoutAdapterAttributes(item) as unknown as Account;

export const entitlementToItem = (entitlement: Entitlement): Item =>
  record('entitlement', entitlementKey(entitlement), entitlement, {
    [INDEXES.byAccount.pk]: partitions.entitlementsOfAccount(
      entitlement.cloud,
      entitlement.accountId,
    ),
    [INDEXES.byAccount.sk]: `ENT#${entitlement.id}`,
    // A Put replaces the whole item, so an entitlement that loses its tenant leaves gsi2.
    ...(entitlement.tenantId === null
      ? {}
      : {
          [INDEXES.byTenant.pk]: partitions.ofTenant(entitlement.tenantId),
          [INDEXES.byTenant.sk]:
            `${sortKeyPrefixes.entitlement}${entitlement.cloud}#${entitlement.id}`,
        }),
    [INDEXES.lists.pk]: partitions.entitlementsInStatus(entitlement.status),
    [INDEXES.lists.sk]: `ENT#${entitlement.cloud}#${entitlement.id}`,
  });

/**
 * Items written before `endedAtEpochMs` and `purgedAtEpochMs` existed read as live and not
 * purged: the fields are `null`.
 */
export const entitlementFromItem = (item: Item): Entitlement =>
  ({
    endedAtEpochMs: null,
    purgedAtEpochMs: null,
    ...withoutAdapterAttributes(item),
  }) as unknown as Entitlement;

/** The expiry lives once, in the TTL attribute, and becomes the domain field again on read. */
export const eventToItem = (event: EventRecord): Item => {
  const { expiresAtEpochSeconds, ...rest } = event;
  return record('event', eventKey(event.cloud, event.eventId), rest, {
    [TTL_ATTRIBUTE]: expiresAtEpochSeconds,
  });
};

export const eventFromItem = (item: Item): EventRecord =>
  ({
    ...withoutAdapterAttributes(item),
    expiresAtEpochSeconds: item[TTL_ATTRIBUTE],
  }) as unknown as EventRecord;

/** A string set: `ADD` unites it atomically with a retry's endpoints. Absent while empty. */
export const DELIVERED_TO_ATTRIBUTE = 'deliveredTo';

/** The index keys a pending message has (the due list), and loses once delivered or failed. */
export const pendingOutboxIndexKeys = (
  message: Pick<OutboxMessage, 'id'>,
  nextAttemptAtEpochMs: number,
): Item => ({
  [INDEXES.lists.pk]: partitions.outboxDue,
  [INDEXES.lists.sk]: outboxDueSortKey(nextAttemptAtEpochMs, message.id),
});

type OrderedMessage = Pick<
  OutboxMessage,
  'id' | 'cloud' | 'accountId' | 'entitlementId' | 'occurredAtEpochMs'
>;

/**
 * Where a pending message is marked in the table, in its ordering key's partition, oldest
 * first: the ordering listing is a strongly consistent query of the table, which an index
 * cannot give. The fields the key derives from never change.
 */
export const orderingMarkerKey = (message: OrderedMessage): TableKey => ({
  pk: partitions.pendingOutboxOf(outboxOrderingKey(message)),
  sk: outboxTimeSortKey(message),
});

/** A pending message's marker: it names the message, whose row holds the rest. */
export const orderingMarkerToItem = (message: OrderedMessage): Item =>
  record('outbox-ordering', orderingMarkerKey(message), { id: message.id });

/** Absent while the message is under no claim, so that a condition can say so in one word. */
export const CLAIM_ID_ATTRIBUTE = 'claimId';

/** A message is listed by time for good, and on the due and ordering lists while pending. */
export const outboxToItem = (message: OutboxMessage): Item => {
  const { deliveredTo, claimId, ...rest } = message;
  return record('outbox', outboxKey(message.id), rest, {
    ...(deliveredTo.length === 0 ? {} : { [DELIVERED_TO_ATTRIBUTE]: new Set(deliveredTo) }),
    ...(claimId === null ? {} : { [CLAIM_ID_ATTRIBUTE]: claimId }),
    [INDEXES.byTenant.pk]: partitions.outboxByTime,
    [INDEXES.byTenant.sk]: outboxTimeSortKey(message),
    ...(message.status === 'pending'
      ? pendingOutboxIndexKeys(message, message.nextAttemptAtEpochMs)
      : {}),
  });
};

/** Sorted, so that both the set and a list (however written) read back the same way. */
const deliveredToOf = (value: unknown): string[] => {
  const ids = value instanceof Set || Array.isArray(value) ? [...(value as Iterable<unknown>)] : [];
  return [...new Set(ids.filter((id): id is string => typeof id === 'string'))].sort();
};

/**
 * Rows written before messages had a status are pending exactly while they are on the due
 * list, and delivered otherwise (acking was the only way off it).
 */
export const outboxFromItem = (item: Item): OutboxMessage => {
  const {
    [DELIVERED_TO_ATTRIBUTE]: deliveredTo,
    [CLAIM_ID_ATTRIBUTE]: claimId,
    ...rest
  } = withoutAdapterAttributes(item);
  return {
    ...rest,
    status: (item.status ??
      (item[INDEXES.lists.pk] === partitions.outboxDue ? 'pending' : 'delivered')) as OutboxStatus,
    deliveredTo: deliveredToOf(deliveredTo),
    claimId: typeof claimId === 'string' ? claimId : null,
    replayedAtEpochMs: item.replayedAtEpochMs ?? null,
  } as unknown as OutboxMessage;
};

/** The expiry lives once, in the TTL attribute, as for event records. */
export const deliveryAttemptToItem = (attempt: DeliveryAttempt): Item => {
  const { expiresAtEpochSeconds, ...rest } = attempt;
  return record('delivery-attempt', deliveryAttemptKey(attempt), rest, {
    [TTL_ATTRIBUTE]: expiresAtEpochSeconds,
  });
};

export const deliveryAttemptFromItem = (item: Item): DeliveryAttempt =>
  ({
    ...withoutAdapterAttributes(item),
    expiresAtEpochSeconds: item[TTL_ATTRIBUTE],
  }) as unknown as DeliveryAttempt;

/** Usage hours are built by UpdateItem (`ADD quantity`), never from a whole record. */
export const USAGE_HOUR_ENTITY = 'usage-hour';

/**
 * A usage hour's tag sets live in top-level attributes, since `ADD` reaches no deeper: per set,
 * `alloc_<id>` holds its total and `allocTags_<id>` its tags (a map, written once). `allocSets`
 * counts the sets and `allocUntagged` the records without tags, so that a condition can hold the
 * hour to AWS's limit on allocations without reading it.
 */
const ALLOCATION_PREFIX = 'alloc_';
const ALLOCATION_TAGS_PREFIX = 'allocTags_';
export const ALLOCATION_SETS_ATTRIBUTE = 'allocSets';
export const UNTAGGED_ATTRIBUTE = 'allocUntagged';

export const allocationAttributes = (setId: string) => ({
  quantity: `${ALLOCATION_PREFIX}${setId}`,
  tags: `${ALLOCATION_TAGS_PREFIX}${setId}`,
});

const tagSetsOfItem = (item: Item | undefined): Map<string, string> => {
  const sets = new Map<string, string>();
  for (const [name, value] of Object.entries(item ?? {})) {
    if (!name.startsWith(ALLOCATION_TAGS_PREFIX)) continue;
    sets.set(
      name.slice(ALLOCATION_TAGS_PREFIX.length),
      canonicalTags(value as Record<string, string>),
    );
  }
  return sets;
};

export const usageHourFromItem = (item: Item): UsageHour => {
  const hour = Object.fromEntries(
    Object.entries(withoutAdapterAttributes(item)).filter(
      ([name]) =>
        !name.startsWith(ALLOCATION_PREFIX) &&
        !name.startsWith(ALLOCATION_TAGS_PREFIX) &&
        name !== ALLOCATION_SETS_ATTRIBUTE &&
        name !== UNTAGGED_ATTRIBUTE,
    ),
  );
  const stored = [...tagSetsOfItem(item)].map(([id, canonical]) => ({
    canonical,
    quantity: (item[allocationAttributes(id).quantity] ?? 0) as number,
  }));
  return {
    ...hour,
    allocations: allocationsOf(hour.quantity as number, stored),
  } as unknown as UsageHour;
};

/** Remembers that a usage id was counted, and where, until its TTL. */
export const usageIdToItem = (
  usageId: string,
  hour: UsageHourKey,
  quantity: number,
  expiresAtEpochSeconds: number,
): Item =>
  record(
    'usage-id',
    usageIdKey(usageId),
    {
      usageId,
      cloud: hour.cloud,
      entitlementId: hour.entitlementId,
      dimension: hour.dimension,
      hourStartEpochMs: hour.hourStartEpochMs,
      quantity,
    },
    { [TTL_ATTRIBUTE]: expiresAtEpochSeconds },
  );

/** What a usage id's marker says: the hour it was counted in, and how much. */
export const countedUsageFromItem = (item: Item): CountedUsage => ({
  usageId: item.usageId as string,
  quantity: item.quantity as number,
  hour: {
    cloud: item.cloud as Cloud,
    entitlementId: item.entitlementId as string,
    dimension: item.dimension as string,
    hourStartEpochMs: item.hourStartEpochMs as number,
  },
});
