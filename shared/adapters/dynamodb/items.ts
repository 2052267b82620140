/**
 * Keys and mappers between the cloud-neutral model and the table's items (layout in
 * `table.ts`). Only these functions know which attributes are DynamoDB's own, so nothing
 * else can leak a key or an index attribute through the port.
 */
import type {
  Account,
  AccountRef,
  Cloud,
  Entitlement,
  EntitlementRef,
  EntitlementStatus,
  EventRecord,
  OutboxMessage,
  UsageHour,
  UsageHourKey,
} from '../../domain/model';
import { hourStartEpochMs, toIsoHour } from '../../domain/time';
import { allocationsOf, canonicalTags } from '../../domain/usage-allocations';
import { INDEXES, TTL_ATTRIBUTE } from './table';

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

/** Widest zero-padded epoch ms; 16 digits cover every safe integer. */
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

export const usageHourKey = (key: UsageHourKey): TableKey => ({
  pk: `USAGE#${key.cloud}#${key.entitlementId}`,
  sk: `HOUR#${toIsoHour(key.hourStartEpochMs)}#${key.dimension}`,
});

export const usageIdKey = (usageId: string): TableKey => ({
  pk: `USAGEID#${usageId}`,
  sk: 'USAGEID',
});

/** Index partition values, one per listing. */
export const partitions = {
  entitlementsOfAccount: (cloud: Cloud, accountId: string): string => `ACCT#${cloud}#${accountId}`,
  entitlementsOfTenant: (tenantId: string): string => `TENANT#${tenantId}`,
  entitlementsInStatus: (status: EntitlementStatus): string => `ENTSTATUS#${status}`,
  outboxDue: 'OUTBOX#DUE',
  unsentUsage: (cloud: Cloud): string => `UNSENT#${cloud}`,
} as const;

const paddedEpochMs = (epochMs: number): string => String(epochMs).padStart(EPOCH_MS_DIGITS, '0');

/** Sorts the due list by time, then id, so equal times still come back in a stable order. */
export const outboxDueSortKey = (nextAttemptAtEpochMs: number, id: string): string =>
  `${paddedEpochMs(nextAttemptAtEpochMs)}#${id}`;

/** Every due-list sort key of a message due at or before `epochMs` sorts below this. */
export const outboxDueBefore = (epochMs: number): string => paddedEpochMs(epochMs + 1);

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
  record('account', accountKey(account), account);

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
          [INDEXES.byTenant.pk]: partitions.entitlementsOfTenant(entitlement.tenantId),
          [INDEXES.byTenant.sk]: `ENT#${entitlement.cloud}#${entitlement.id}`,
        }),
    [INDEXES.lists.pk]: partitions.entitlementsInStatus(entitlement.status),
    [INDEXES.lists.sk]: `ENT#${entitlement.cloud}#${entitlement.id}`,
  });

export const entitlementFromItem = (item: Item): Entitlement =>
  withoutAdapterAttributes(item) as unknown as Entitlement;

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

/** A new outbox row is on the due list from the start. */
export const outboxToItem = (message: OutboxMessage): Item =>
  record('outbox', outboxKey(message.id), message, {
    [INDEXES.lists.pk]: partitions.outboxDue,
    [INDEXES.lists.sk]: outboxDueSortKey(message.nextAttemptAtEpochMs, message.id),
  });

export const outboxFromItem = (item: Item): OutboxMessage =>
  withoutAdapterAttributes(item) as unknown as OutboxMessage;

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
