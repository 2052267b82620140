import type { Decision } from '../domain/decision';
import type {
  Account,
  AccountRef,
  DeliveryAttempt,
  Cloud,
  Entitlement,
  EntitlementRef,
  EntitlementStatus,
  EventRecord,
  OutboxMessage,
  UsageAnswer,
  UsageHour,
  UsageHourKey,
  UsageTags,
} from '../domain/model';
import type { UsageNews } from '../domain/usage-news';

/** One page of a listing; pass `nextCursor` back to get the next, `null` means the end. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface PageRequest {
  /** 1 to 1,000. */
  readonly limit: number;
  readonly cursor?: string | null;
}

export type EntitlementQuery =
  | { readonly by: 'account'; readonly cloud: Cloud; readonly accountId: string }
  | { readonly by: 'tenant'; readonly tenantId: string }
  | { readonly by: 'status'; readonly status: EntitlementStatus };

/** What a message needs before deciding, read in one round trip. */
export interface EventContext {
  readonly eventRecorded: boolean;
  readonly account: Account | null;
  readonly entitlement: Entitlement | null;
}

/** One record of the vendor's usage. */
export interface UsageIngestRecord {
  readonly usageId: string;
  readonly quantity: number;
  /**
   * The allocation the quantity belongs to (AWS `UsageAllocations`): 1 to 5 tags, keys of 1 to
   * 100 and values of 1 to 256 characters of `[a-zA-Z0-9+ -=._:/@]`. Without tags the quantity
   * counts toward the untagged share, which is an allocation only in hours that have tags.
   */
  readonly tags?: UsageTags;
}

/** Usage for one (entitlement, dimension, hour), deduplicated by the caller's usage ids. */
export interface UsageIngest extends UsageHourKey {
  readonly records: readonly UsageIngestRecord[];
  /** When the usage ids may be forgotten (TTL), in epoch seconds. */
  readonly dedupeExpiresAtEpochSeconds: number;
  /** Stamped on the hour as `updatedAtEpochMs`. */
  readonly nowEpochMs: number;
}

export interface UsageIngestResult {
  /** Usage ids added now. */
  readonly accepted: readonly string[];
  /** Usage ids seen before: already counted, not added again. */
  readonly duplicates: readonly string[];
  /** The hour's total after this add. */
  readonly quantity: number;
}

/** What the store remembers of a usage id it counted, for as long as it remembers the id. */
export interface CountedUsage {
  readonly usageId: string;
  readonly quantity: number;
  /** The hour it was added to; `null` for an id remembered from before the store kept it. */
  readonly hour: UsageHourKey | null;
}

export interface OutboxClaim {
  readonly nowEpochMs: number;
  readonly limit: number;
  /** How long a claimed message stays invisible to other claimers. */
  readonly leaseMs: number;
  /** Only these messages (those of them that are due): the attempt right after a write. */
  readonly ids?: readonly string[];
}

/**
 * A message as a claimer holds it: its id and the claim `claimOutbox` put it under (null for a
 * message never claimed since it was written or replayed).
 */
export type OutboxLease = Pick<OutboxMessage, 'id' | 'claimId'>;

/**
 * Outbox listings, oldest first: by occurrence time, then id.
 * - `time`: every message whose `occurredAtEpochMs` is in `[fromEpochMs, toEpochMs)`, whatever
 *   its status (the event log the vendor reads and replays);
 * - `ordering`: the `pending` messages of one ordering key (see `outboxOrderingKey`), which a
 *   later message of the key must not overtake.
 */
export type OutboxQuery =
  | { readonly by: 'time'; readonly fromEpochMs: number; readonly toEpochMs: number }
  | { readonly by: 'ordering'; readonly orderingKey: string };

/** An entitlement's usage hours whose start is in `[fromEpochMs, toEpochMs)`. */
export interface UsageHourQuery {
  readonly cloud: Cloud;
  readonly entitlementId: string;
  readonly fromEpochMs: number;
  readonly toEpochMs: number;
}

/**
 * The one storage port. Two adapters implement it (DynamoDB, Firestore) and both pass
 * `describeStoreContract`. Reads return `null` for a missing record. Writes are conditional on
 * the version the caller read; a lost race throws `ConcurrencyConflictError` carrying the
 * record as it is now. Every write validates keys and sizes first and throws
 * `ValidationError` before touching the engine. Engine outages throw `StoreUnavailableError`.
 */
export interface Store {
  getAccount(ref: AccountRef): Promise<Account | null>;
  getEntitlement(ref: EntitlementRef): Promise<Entitlement | null>;
  getEvent(cloud: Cloud, eventId: string): Promise<EventRecord | null>;

  /**
   * Writes `account` if the stored version still is `expectedVersion` (0: it must not exist).
   *
   * @returns the account as stored, with its new version.
   * @throws ConcurrencyConflictError carrying the current account.
   */
  putAccount(account: Account, expectedVersion: number): Promise<Account>;

  /** As {@link Store.putAccount}, for an entitlement. */
  putEntitlement(entitlement: Entitlement, expectedVersion: number): Promise<Entitlement>;

  /** Whether the message was recorded, and the account and entitlement it names: one read. */
  loadEventContext(input: {
    cloud: Cloud;
    eventId: string;
    accountId: string | null;
    entitlementId: string | null;
  }): Promise<EventContext>;

  /**
   * Writes the event record, the new account and entitlement and the outbox rows in one atomic
   * write. Nothing is written when any part fails.
   *
   * @returns `duplicate` (and writes nothing) when the event id is already recorded.
   * @throws ConcurrencyConflictError when the account or entitlement changed since it was read.
   */
  applyDecision(decision: Decision): Promise<'applied' | 'duplicate'>;

  /** Entitlements by account, tenant or status, in a stable order, a page at a time. */
  listEntitlements(query: EntitlementQuery, page: PageRequest): Promise<Page<Entitlement>>;

  /** The accounts linked to a tenant, across clouds, in a stable order, a page at a time. */
  listAccounts(
    query: { readonly by: 'tenant'; readonly tenantId: string },
    page: PageRequest,
  ): Promise<Page<Account>>;

  /**
   * Adds the records' quantities to the hour, each usage id at most once ever, whatever hour
   * or entitlement it comes with (a usage id names one record of the vendor's). The add is
   * atomic per chunk of records (about a hundred); a retry of a call that failed part-way counts
   * nothing twice, since the chunks already added answer as duplicates. A retry whose usage ids
   * were all counted is answered even once the hour is sealed.
   *
   * Tagged records add to their tag set's total in the same atomic write as to the hour's; the
   * order of a record's tag keys does not matter. An hour holds at most 2,500 tag sets (AWS's
   * limit of allocations a record), the untagged share included once it has a quantity.
   *
   * The hour's total never passes `MAX_USAGE_QUANTITY` (nor, being parts of it, do its
   * allocations): the new records are taken in order, and the first that would take the total
   * past it is refused, naming it, before anything is written.
   *
   * @throws UsageHourSealedError when the hour was sealed and any record is new.
   * @throws UsageHourTotalTooLargeError naming the record (`records[<index>]`) that would take
   * the hour's total past `MAX_USAGE_QUANTITY`.
   * @throws ValidationError before any write for malformed tags, or a record that would make the
   * hour's 2,501st allocation or its row too large.
   *
   * Both limits are checked against the hour as read before the adds. An adapter that checks
   * again in the write (DynamoDB, in the same condition as the add) may then refuse a later
   * chunk that concurrent adds left no room for, the chunks before it counted; one whose adds are
   * blind (Firestore) lets concurrent adds at the very limit pass.
   */
  addUsage(ingest: UsageIngest): Promise<UsageIngestResult>;

  /**
   * The usage ids among `usageIds` that were counted and are still remembered (until their
   * `dedupeExpiresAtEpochSeconds`), with the hour and the quantity each was counted with. Ids
   * never counted are absent from the map. Reads only.
   *
   * @throws ValidationError for an id that cannot be a key.
   */
  findCountedUsage(usageIds: readonly string[]): Promise<ReadonlyMap<string, CountedUsage>>;

  getUsageHour(key: UsageHourKey): Promise<UsageHour | null>;

  /** One entitlement's hours, oldest first (by hour, then dimension), whatever their state. */
  listUsageHours(query: UsageHourQuery, page: PageRequest): Promise<Page<UsageHour>>;

  /**
   * Hours of `cloud` that closed before `beforeEpochMs` (their end is at or before it) and were
   * neither sent nor rejected, oldest first.
   */
  listUnsentUsageHours(
    query: { cloud: Cloud; beforeEpochMs: number },
    page: PageRequest,
  ): Promise<Page<UsageHour>>;

  /**
   * Freezes an hour for sending: no add changes it afterwards, so a re-send after a crash
   * carries the same quantity. Sealing a sealed hour returns it unchanged.
   *
   * @throws NotFoundError when the hour has no row.
   */
  sealUsageHour(key: UsageHourKey, nowEpochMs: number): Promise<UsageHour>;

  /**
   * Records the marketplace's answer for a sealed hour: `sent` or `rejected` are final. With
   * `news`, its event record and outbox rows are written in the same atomic write, so the hour
   * never leaves the unsent list without the vendor's event; when that event is recorded
   * already, the hour is marked and the news not written again.
   *
   * @throws NotFoundError when the hour has no row.
   * @throws ConcurrencyConflictError carrying the hour when it is not sealed; nothing is written.
   * @throws ValidationError for news `applyDecision` would refuse (checked before any write),
   * or whose outbox message exists already.
   */
  markUsageHour(
    key: UsageHourKey,
    state: 'sent' | 'rejected',
    answer: UsageAnswer,
    news?: UsageNews,
  ): Promise<UsageHour>;

  /**
   * Claims up to `limit` pending messages due at `nowEpochMs`, oldest first, hiding them from
   * other claimers for `leaseMs`, counting the attempt and putting each under a new claim
   * (`claimId`): what the claimer then reports about a message names that claim.
   */
  claimOutbox(claim: OutboxClaim): Promise<OutboxMessage[]>;

  getOutboxMessage(id: string): Promise<OutboxMessage | null>;

  /** See {@link OutboxQuery}. */
  listOutbox(query: OutboxQuery, page: PageRequest): Promise<Page<OutboxMessage>>;

  /**
   * Delivered to every endpoint: `delivered`, off the due list for good. Like every report of
   * a claimer, it holds only while the message is pending under `lease.claimId`; a message
   * claimed again since (the lease ran out), replayed, acked or failed stays as it is. A report
   * ends the claim, so a second one under it changes nothing either.
   *
   * @throws NotFoundError when no message has that id.
   */
  ackOutbox(lease: OutboxLease): Promise<void>;

  /**
   * Not delivered everywhere: try again at `atEpochMs`, remembering why it failed and adding
   * `deliveredTo` (endpoints that took it on this attempt) to the message's. Holds only under
   * the lease's claim, as {@link Store.ackOutbox}.
   *
   * @throws NotFoundError when no message has that id.
   */
  retryOutboxAt(
    lease: OutboxLease,
    atEpochMs: number,
    lastError: string,
    deliveredTo?: readonly string[],
  ): Promise<void>;

  /**
   * Not tried at every endpoint it is owed, through no failure of its own (held back behind an
   * older message of its ordering key, or kept from an endpoint that did not answer another
   * message): due again at `atEpochMs` with the claim's attempt given back and its last error
   * kept, and `deliveredTo` added as in {@link Store.retryOutboxAt}. Holds only under the
   * lease's claim, as {@link Store.ackOutbox}.
   *
   * @throws ValidationError when the lease names no claim: only a claim counted an attempt.
   * @throws NotFoundError when no message has that id.
   */
  deferOutbox(
    lease: OutboxLease,
    atEpochMs: number,
    deliveredTo?: readonly string[],
  ): Promise<void>;

  /**
   * Given up (the retry horizon passed): `failed`, off the due list, kept for the log and replay,
   * with `deliveredTo` added as in {@link Store.retryOutboxAt}. Holds only under the lease's
   * claim, as {@link Store.ackOutbox}.
   *
   * @throws NotFoundError when no message has that id.
   */
  failOutbox(lease: OutboxLease, lastError: string, deliveredTo?: readonly string[]): Promise<void>;

  /**
   * Delivers the message again to every endpoint, whatever its status: `pending`, due at
   * `nowEpochMs`, no attempts, no endpoints served, no last error, `replayedAtEpochMs` now (its
   * retry horizon starts again), and under no claim, so that what a claimer still at work on it
   * reports afterwards changes nothing.
   *
   * @returns the message as stored now.
   * @throws NotFoundError when no message has that id.
   */
  replayOutbox(id: string, nowEpochMs: number): Promise<OutboxMessage>;

  /** Appends one entry to the delivery log. Writing the same entry twice keeps one. */
  recordDeliveryAttempt(attempt: DeliveryAttempt): Promise<void>;

  /** A message's delivery log, oldest first. */
  listDeliveryAttempts(messageId: string, page: PageRequest): Promise<Page<DeliveryAttempt>>;
}
