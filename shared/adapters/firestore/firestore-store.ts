/**
 * The Firestore adapter of the `Store` port.
 *
 * Collections, each id behind the optional `collectionPrefix` (`b64` is base64url, see
 * `encodeKey`: ids such as AWS LicenseArns hold `/`, which a document id cannot):
 * - `accounts/<cloud>:<b64 id>`: the account as it is, plus `tenantId` (the linked tenant's id,
 *   or null) and `sortKey` (`<cloud>|<id>`).
 * - `entitlements/<cloud>:<b64 id>`: the entitlement, plus `sortKey` (`<cloud>|<id>`).
 * - `events/<cloud>:<b64 eventId>`: the record, its expiry as an `expiresAt` Timestamp (TTL).
 * - `outbox/<b64 id>`: the message (the doc stays as the delivery record), plus `timeKey`
 *   (`<occurredAtEpochMs, 16 digits>|<id>`) and, while it is pending, `dueAtEpochMs` and
 *   `pendingOrderingKey` (both null once delivered or failed).
 * - `outbox/<b64 id>/deliveries/<atEpochMs>:<attempt>:<b64 endpointId>` (16-digit numbers):
 *   the message's delivery log, an entry per attempt and endpoint, plus `sortKey` and an
 *   `expiresAt` Timestamp (TTL). A subcollection, so the log is one listing with no index.
 * - `usageHours/<cloud>:<b64 entitlementId>:<b64 dimension>:<ISO hour>`: the hour, plus
 *   `hourKey` (`<ISO hour>|<dimension>`), `unsentKey` (null once sent or rejected) and, per tag
 *   set of its usage, `alloc_<id>` and `allocTags_<id>` (see `firestore-mappers.ts`).
 * - `usageIds/<b64 usageId>`: a usage id already counted (in whatever hour), with its quantity,
 *   the `attempt` that wrote it and an `expiresAt` Timestamp (TTL).
 * - `usageSeals/<the hour's id>`: exists once the hour is sealed. Adds read it instead of the
 *   hour, so that concurrent adds to one hour do not contend (see `addUsageChunk`).
 *
 * Records are stored field for field (see `firestore-mappers.ts`); times stay epoch-ms numbers,
 * except the TTL fields, which must be Timestamps. A usage id names one record of the vendor's,
 * so it is counted once whatever hour it comes with: markers live in one collection.
 *
 * Queries and the indexes they need (exported as data in `FIRESTORE_INDEXES`):
 * - listEntitlements by account: `cloud == c && accountId == a && sortKey > after`, order by
 *   `sortKey`: composite (cloud, accountId, sortKey).
 * - listEntitlements by tenant: `tenantId == t && sortKey > after`, order by `sortKey`: composite
 *   (tenantId, sortKey).
 * - listEntitlements by status: `status == s && sortKey > after`, order by `sortKey`: composite
 *   (status, sortKey).
 * - listAccounts by tenant: `tenantId == t && sortKey > after`, order by `sortKey`: composite
 *   (tenantId, sortKey) on accounts.
 * - listUsageHours: `cloud == c && entitlementId == e && hourKey >= <first ISO hour> (or
 *   > after) && hourKey < <last ISO hour>}`, order by `hourKey`: composite (cloud,
 *   entitlementId, hourKey).
 * - listUnsentUsageHours: `unsentKey > max(after, '<cloud>|') && unsentKey < '<cloud>|<ISO of the
 *   first hour not yet closed>'`, order by `unsentKey`: the automatic single-field index.
 * - claimOutbox: `dueAtEpochMs <= now`, order by `dueAtEpochMs`: the automatic single-field index.
 *   A claim of given ids reads those documents instead.
 * - listOutbox by time: `timeKey >= <from> (or > after) && timeKey < <to>`, order by `timeKey`:
 *   the automatic single-field index.
 * - listOutbox by ordering: `pendingOrderingKey == k && timeKey > after`, order by `timeKey`:
 *   composite (pendingOrderingKey, timeKey).
 * - listDeliveryAttempts: `sortKey > after` in the message's subcollection, order by `sortKey`:
 *   the automatic single-field index.
 *
 * Paging is keyset (a range filter on the sort field) rather than query cursors: it is as cheap on
 * Firestore and it is what the in-process test emulator supports. Sort keys are explicit fields
 * because that emulator cannot order by document id, nor filter on a nested field, either.
 *
 * A write that needs the record absent is a bare `create()`, whose precondition says exactly that.
 * Every other write that depends on what is stored runs in a transaction that reads before it
 * writes; Firestore retries it on contention. Creates inside transactions also use `create()`, and
 * usage totals are `FieldValue.increment`s, so that counts stay exact on an engine that applies
 * commits one at a time without isolating a transaction's reads (the in-process emulator).
 */
import { randomUUID } from 'node:crypto';
import { FieldValue } from '@google-cloud/firestore';
import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  Query,
  Transaction,
} from '@google-cloud/firestore';
import type { Decision } from '../../domain/decision';
import {
  ConcurrencyConflictError,
  MarketplaceError,
  NotFoundError,
  StoreUnavailableError,
  UsageHourSealedError,
  ValidationError,
} from '../../domain/errors';
import {
  assertHourTotalRoom,
  assertInteger,
  assertItemSize,
  assertKey,
  MAX_PAGE_LIMIT,
  MAX_USAGE_QUANTITY,
} from '../../domain/limits';
import { CLOUDS, ENTITLEMENT_STATUSES, OutboxStatus, outboxOrderingKey } from '../../domain/model';
import type {
  Account,
  AccountRef,
  Cloud,
  DeliveryAttempt,
  Entitlement,
  EntitlementRef,
  OutboxMessage,
  UsageAnswer,
  UsageHour,
  UsageHourKey,
  UsageTags,
} from '../../domain/model';
import { HOUR_MS, hourStartEpochMs, isHourStart, toIsoHour } from '../../domain/time';
import {
  assertTags,
  assertUsageHourSize,
  newTagSets,
  tagSetsOfHour,
  totalsByTagSet,
} from '../../domain/usage-allocations';
import type { HourTagSets } from '../../domain/usage-allocations';
import { assertDistinctTagSetIds, tagSetId } from '../usage/tag-set-id';
import type {
  CountedUsage,
  EntitlementQuery,
  OutboxLease,
  OutboxQuery,
  Page,
  PageRequest,
  Store,
  UsageHourQuery,
  UsageIngest,
} from '../../ports/store';
import {
  accountDocId,
  accountFromDoc,
  accountToDoc,
  allocationFields,
  collectionsFor,
  countedUsageFromDoc,
  deliveredToOf,
  deliveryAttemptDocId,
  deliveryAttemptFromDoc,
  deliveryAttemptToDoc,
  entitlementDocId,
  entitlementFromDoc,
  entitlementToDoc,
  eventDocId,
  eventFromDoc,
  eventToDoc,
  newUsageHourDoc,
  outboxDocId,
  outboxFromDoc,
  outboxTimeBounds,
  outboxTimeKey,
  outboxToDoc,
  unsentKeyPrefix,
  usageHourBounds,
  usageHourChangesToDoc,
  usageHourDocId,
  usageHourFromDoc,
  usageIdDocId,
  usageIdToDoc,
} from './firestore-mappers';

export interface FirestoreStoreOptions {
  /** Prepended to every collection id, so that several deployments can share one database. */
  readonly collectionPrefix?: string;
}

/** The last hour start whose ISO form still has a four-digit year, so unsent keys sort. */
const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23);
/** The largest Timestamp Firestore stores: 9999-12-31T23:59:59Z. */
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;
/** Usage-id markers read per `getAll` outside the adds. */
const MARKER_READS = 500;
/** Usage ids per transaction: well under Firestore's 500 writes per commit, with the hour. */
const USAGE_CHUNK = 200;
/** Outbox messages claimed per transaction. */
const CLAIM_CHUNK = 100;
/** Times a transaction is run again after one of its creates lost to a concurrent writer. */
const MAX_CREATE_ROUNDS = 5;

const GRPC_ALREADY_EXISTS = 6;
/**
 * Worth retrying later: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED (contention outlasted the
 * SDK's own retries), INTERNAL and UNAVAILABLE, and their HTTP forms on the REST transport.
 * FAILED_PRECONDITION is left alone: from Firestore it mostly means a missing index, which no
 * retry heals.
 */
const TRANSIENT_CODES = new Set([4, 8, 10, 13, 14, 409, 429, 500, 503, 504]);

const grpcCode = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

const toStoreError = (error: unknown, operation: string): unknown => {
  if (error instanceof MarketplaceError) return error;
  const code = grpcCode(error);
  if (code !== undefined && TRANSIENT_CODES.has(code)) {
    const message = error instanceof Error ? error.message : String(error);
    return new StoreUnavailableError(`Firestore ${operation}: ${message}`, { cause: error });
  }
  return error;
};

// Lone surrogates become U+FFFD in UTF-8, so two distinct ids would share one document.
const LONE_SURROGATE = /\p{Cs}/u;

const assertStoreKey = (value: unknown, path: string): string => {
  const key = assertKey(value, path);
  if (LONE_SURROGATE.test(key)) {
    throw new ValidationError(`${path} is not well-formed Unicode`, { path });
  }
  return key;
};

const assertOneOf = <T extends string>(value: unknown, allowed: readonly T[], path: string): T => {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new ValidationError(`${path} must be one of ${allowed.join(', ')}`, { path });
  }
  return value as T;
};

const assertCloud = (value: unknown, path: string): Cloud => assertOneOf(value, CLOUDS, path);

const assertNullableKey = (value: unknown, path: string): void => {
  if (value !== null) assertStoreKey(value, path);
};

const assertVersion = (value: unknown, path: string): number =>
  assertInteger(value, path, 0, Number.MAX_SAFE_INTEGER - 1);

const assertEpochMs = (value: unknown, path: string): number =>
  assertInteger(value, path, 0, MAX_EPOCH_MS);

const validateRef = (ref: AccountRef, path: string): void => {
  assertCloud(ref?.cloud, `${path}.cloud`);
  assertStoreKey(ref.id, `${path}.id`);
};

const validateAccount = (account: Account, path: string): void => {
  validateRef(account, path);
  assertItemSize(account, path);
};

const validateEntitlement = (entitlement: Entitlement, path: string): void => {
  validateRef(entitlement, path);
  assertStoreKey(entitlement.accountId, `${path}.accountId`);
  assertNullableKey(entitlement.tenantId, `${path}.tenantId`);
  assertOneOf(entitlement.status, ENTITLEMENT_STATUSES, `${path}.status`);
  assertItemSize(entitlement, path);
};

const validateUsageKey = (key: UsageHourKey, path: string): void => {
  assertCloud(key?.cloud, `${path}.cloud`);
  assertStoreKey(key.entitlementId, `${path}.entitlementId`);
  assertStoreKey(key.dimension, `${path}.dimension`);
  const hour = key.hourStartEpochMs;
  if (!isHourStart(hour) || hour < 0 || hour > MAX_EPOCH_MS) {
    throw new ValidationError(`${path}.hourStartEpochMs must be the start of a UTC hour`, {
      path: `${path}.hourStartEpochMs`,
    });
  }
};

const validatePageLimit = (page: PageRequest): number =>
  assertInteger(page?.limit, 'page.limit', 1, MAX_PAGE_LIMIT);

const OUTBOX_STATUSES = Object.values(OutboxStatus);

/** Endpoint ids: each a key, together small enough to fit the message's document. */
const validateDeliveredTo = (value: unknown, path: string): readonly string[] => {
  if (!Array.isArray(value)) {
    throw new ValidationError(`${path} must be a list of endpoint ids`, { path });
  }
  value.forEach((id, index) => assertStoreKey(id, `${path}[${index}]`));
  assertItemSize(value, path);
  return value as readonly string[];
};

const validateLastError = (lastError: unknown): void => {
  if (typeof lastError !== 'string') {
    throw new ValidationError('lastError must be a string', { path: 'lastError' });
  }
  assertItemSize(lastError, 'lastError');
};

const validateOutboxMessage = (message: OutboxMessage, path: string): void => {
  assertStoreKey(message.id, `${path}.id`);
  assertCloud(message.cloud, `${path}.cloud`);
  // With the id, these make the ordering key and the time key.
  assertNullableKey(message.accountId, `${path}.accountId`);
  assertNullableKey(message.entitlementId, `${path}.entitlementId`);
  assertEpochMs(message.occurredAtEpochMs, `${path}.occurredAtEpochMs`);
  assertInteger(message.attempts, `${path}.attempts`, 0, Number.MAX_SAFE_INTEGER);
  assertEpochMs(message.nextAttemptAtEpochMs, `${path}.nextAttemptAtEpochMs`);
  assertOneOf(message.status, OUTBOX_STATUSES, `${path}.status`);
  validateDeliveredTo(message.deliveredTo, `${path}.deliveredTo`);
  assertNullableKey(message.claimId, `${path}.claimId`);
  if (message.replayedAtEpochMs !== null) {
    assertEpochMs(message.replayedAtEpochMs, `${path}.replayedAtEpochMs`);
  }
  assertItemSize(message, path);
};

const validateLease = (lease: OutboxLease): void => {
  assertStoreKey(lease?.id, 'lease.id');
  assertNullableKey(lease.claimId, 'lease.claimId');
};

/** Only a claim counted an attempt, so only a claim has one to give back. */
const validateClaimedLease = (lease: OutboxLease): void => {
  validateLease(lease);
  if (lease.claimId === null) {
    throw new ValidationError('lease.claimId must name the claim being deferred', {
      path: 'lease.claimId',
    });
  }
};

/**
 * An ordering key as `outboxOrderingKey` makes it: fixed words around one id, which must be a
 * key like any other.
 */
const ORDERING_KEY = new RegExp(
  `^(?:(?:${CLOUDS.join('|')}):(?:entitlement|account):|message:)(.*)$`,
  's',
);

const assertOrderingKey = (value: unknown, path: string): string => {
  const id = typeof value === 'string' ? ORDERING_KEY.exec(value)?.[1] : undefined;
  if (id === undefined) {
    throw new ValidationError(`${path} must be an outbox ordering key`, { path });
  }
  assertStoreKey(id, path);
  return value as string;
};

/** HTTP status codes are three digits. */
const MAX_STATUS_CODE = 999;

const validateDeliveryAttempt = (attempt: DeliveryAttempt): void => {
  assertStoreKey(attempt?.messageId, 'attempt.messageId');
  assertStoreKey(attempt.endpointId, 'attempt.endpointId');
  // Both are padded to 16 digits in the document id.
  assertInteger(attempt.attempt, 'attempt.attempt', 0, Number.MAX_SAFE_INTEGER);
  assertEpochMs(attempt.atEpochMs, 'attempt.atEpochMs');
  if (attempt.statusCode !== null) {
    assertInteger(attempt.statusCode, 'attempt.statusCode', 0, MAX_STATUS_CODE);
  }
  assertInteger(attempt.latencyMs, 'attempt.latencyMs', 0, Number.MAX_SAFE_INTEGER);
  assertOneOf(attempt.outcome, ['delivered', 'failed'] as const, 'attempt.outcome');
  if (attempt.error !== null && typeof attempt.error !== 'string') {
    throw new ValidationError('attempt.error must be a string or null', { path: 'attempt.error' });
  }
  assertInteger(
    attempt.expiresAtEpochSeconds,
    'attempt.expiresAtEpochSeconds',
    0,
    MAX_TIMESTAMP_SECONDS,
  );
  assertItemSize(attempt, 'attempt');
};

const validateDecision = (decision: Decision): void => {
  const { event, account, entitlement, outbox } = decision;
  assertCloud(event?.cloud, 'decision.event.cloud');
  assertStoreKey(event.eventId, 'decision.event.eventId');
  assertInteger(
    event.expiresAtEpochSeconds,
    'decision.event.expiresAtEpochSeconds',
    0,
    MAX_TIMESTAMP_SECONDS,
  );
  assertItemSize(event, 'decision.event');
  if (account) {
    validateAccount(account.next, 'decision.account.next');
    assertVersion(account.expectedVersion, 'decision.account.expectedVersion');
  }
  if (entitlement) {
    validateEntitlement(entitlement.next, 'decision.entitlement.next');
    assertVersion(entitlement.expectedVersion, 'decision.entitlement.expectedVersion');
  }
  const ids = new Set<string>();
  outbox.forEach((message, index) => {
    validateOutboxMessage(message, `decision.outbox[${index}]`);
    if (ids.has(message.id)) {
      throw new ValidationError(`decision.outbox[${index}].id repeats ${message.id}`, {
        path: `decision.outbox[${index}].id`,
      });
    }
    ids.add(message.id);
  });
};

const validateAnswer = (answer: UsageAnswer): void => {
  if (typeof answer?.status !== 'string' || answer.status.length === 0) {
    throw new ValidationError('answer.status must be a non-empty string', {
      path: 'answer.status',
    });
  }
  for (const field of ['meteringRecordId', 'reason'] as const) {
    if (answer[field] !== null && typeof answer[field] !== 'string') {
      throw new ValidationError(`answer.${field} must be a string or null`, {
        path: `answer.${field}`,
      });
    }
  }
  assertEpochMs(answer.atEpochMs, 'answer.atEpochMs');
  assertItemSize(answer, 'answer');
};

/** A usage record once validated, with where it and its tags were in the call (for errors). */
interface CountedRecord {
  readonly quantity: number;
  readonly tags: UsageTags | undefined;
  /** `ingest.records[<index>]`. */
  readonly at: string;
  /** `ingest.records[<index>].tags`. */
  readonly path: string;
}

type Listing =
  | 'entitlements'
  | 'accounts'
  | 'usageHours'
  | 'entitlementHours'
  | 'outboxByTime'
  | 'outboxByOrdering'
  | 'deliveryAttempts';

/** Opaque to callers: base64url JSON naming the listing and the last sort key returned. */
const encodeCursor = (listing: Listing, after: string): string =>
  Buffer.from(JSON.stringify({ l: listing, a: after }), 'utf8').toString('base64url');

const decodeCursor = (cursor: string | null | undefined, listing: Listing): string | null => {
  if (cursor === undefined || cursor === null) return null;
  const forged = () =>
    new ValidationError('page.cursor was not issued by this listing', { path: 'page.cursor' });
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,8192}$/.test(cursor)) throw forged();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw forged();
  }
  const { l, a } = (parsed ?? {}) as { l?: unknown; a?: unknown };
  if (l !== listing || typeof a !== 'string' || a.length === 0) throw forged();
  return a;
};

const describeHour = (key: UsageHourKey): string =>
  `${key.cloud}/${key.entitlementId}/${key.dimension}/${toIsoHour(key.hourStartEpochMs)}`;

const chunksOf = <T>(items: readonly T[], size: number): T[][] => {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
};

const decode = <T>(snapshot: DocumentSnapshot | undefined, fromDoc: (doc: DocumentData) => T) => {
  const data = snapshot?.data();
  return data === undefined ? null : fromDoc(data);
};

/** @throws ConcurrencyConflictError carrying `current` unless it is at `expected` (0: absent). */
const checkVersion = <T extends { readonly version: number }>(
  current: T | null,
  expected: number,
  what: string,
): void => {
  const actual = current?.version ?? 0;
  if (actual !== expected) {
    throw new ConcurrencyConflictError(`${what} is at version ${actual}, not ${expected}`, current);
  }
};

/** Creates when the record must be new, so that even an unisolated engine refuses a second one. */
const writeVersioned = (
  tx: Transaction,
  ref: DocumentReference,
  doc: DocumentData,
  expectedVersion: number,
): void => {
  if (expectedVersion === 0) tx.create(ref, doc);
  else tx.set(ref, doc);
};

export const createFirestoreStore = (db: Firestore, options: FirestoreStoreOptions = {}): Store => {
  const prefix = options.collectionPrefix ?? '';
  if (!/^[A-Za-z0-9_-]*$/.test(prefix) || prefix.startsWith('__')) {
    throw new ValidationError('collectionPrefix may hold letters, digits, _ and - only', {
      path: 'collectionPrefix',
    });
  }
  const names = collectionsFor(prefix);
  const accounts = db.collection(names.accounts);
  const entitlements = db.collection(names.entitlements);
  const events = db.collection(names.events);
  const outbox = db.collection(names.outbox);
  const usageHours = db.collection(names.usageHours);
  const usageSeals = db.collection(names.usageSeals);

  const accountRef = (ref: AccountRef) => accounts.doc(accountDocId(ref));
  const entitlementRef = (ref: EntitlementRef) => entitlements.doc(entitlementDocId(ref));
  const eventRef = (cloud: Cloud, eventId: string) => events.doc(eventDocId(cloud, eventId));
  const outboxRef = (id: string) => outbox.doc(outboxDocId(id));
  const usageHourRef = (key: UsageHourKey) => usageHours.doc(usageHourDocId(key));
  const usageSealRef = (key: UsageHourKey) => usageSeals.doc(usageHourDocId(key));
  const usageIds = db.collection(names.usageIds);
  const deliveryAttemptsOf = (messageId: string) =>
    outboxRef(messageId).collection(names.deliveryAttempts);

  const read = async <T>(ref: DocumentReference, fromDoc: (doc: DocumentData) => T) =>
    decode(await ref.get(), fromDoc);

  /** Every method maps engine failures to domain errors the same way. */
  const guarded = <K extends keyof Store>(operation: K, method: Store[K]): Store[K] =>
    (async (...args: unknown[]) => {
      try {
        return await (method as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        throw toStoreError(error, operation);
      }
    }) as Store[K];

  const putVersioned = async <T extends { readonly version: number }>(
    ref: DocumentReference,
    record: T,
    expectedVersion: number,
    mapper: { toDoc: (record: T) => DocumentData; fromDoc: (doc: DocumentData) => T },
    what: string,
  ): Promise<T> => {
    const next: T = { ...record, version: expectedVersion + 1 };
    if (expectedVersion === 0) {
      // "Must not exist" is exactly create()'s precondition: one write, no transaction.
      try {
        await ref.create(mapper.toDoc(next));
        return next;
      } catch (error) {
        if (grpcCode(error) !== GRPC_ALREADY_EXISTS) throw error;
        const current = await read(ref, mapper.fromDoc);
        throw new ConcurrencyConflictError(`${what} exists already`, current, { cause: error });
      }
    }
    return db.runTransaction(async (tx) => {
      checkVersion(decode(await tx.get(ref), mapper.fromDoc), expectedVersion, what);
      tx.set(ref, mapper.toDoc(next));
      return next;
    });
  };

  const listPage = async <T>(
    query: Query,
    sortField: string,
    limit: number,
    listing: Listing,
    fromDoc: (doc: DocumentData) => T,
  ): Promise<Page<T>> => {
    // One more than asked tells whether a next page exists without an empty last page.
    const snapshot = await query
      .orderBy(sortField)
      .limit(limit + 1)
      .get();
    const docs = snapshot.docs.slice(0, limit);
    const last = docs.at(-1);
    return {
      items: docs.map((doc) => fromDoc(doc.data())),
      nextCursor:
        snapshot.docs.length > limit && last
          ? encodeCursor(listing, last.get(sortField) as string)
          : null,
    };
  };

  interface ChunkResult {
    readonly accepted: readonly string[];
    readonly seen: readonly string[];
  }

  /**
   * Adds one chunk of usage ids in one transaction. It reads only the hour's seal and the chunk's
   * markers, and increments the hour blindly: concurrent adds to one hour then never contend
   * (contention is about documents a transaction read), while a seal still serialises with
   * every add, since the sealer reads the hour and writes the seal. Tag sets are incremented
   * blindly too, so the limit on them is checked before the adds (see `addUsage`), not here.
   *
   * Markers are created first and the increment comes last. A marker create that loses to a
   * concurrent add (ALREADY_EXISTS) fails the commit; the chunk is read again and what the other
   * add counted becomes a duplicate. An engine that applies part of a failed commit (the
   * in-process emulator) may leave this call's own markers behind without the increment, which
   * is why markers name their attempt: ours from a failed commit are counted on the retry.
   */
  const addUsageChunk = async (
    key: UsageHourKey,
    ids: readonly string[],
    records: ReadonlyMap<string, CountedRecord>,
    known: HourTagSets,
    expiresAtEpochSeconds: number,
    nowEpochMs: number,
  ): Promise<ChunkResult> => {
    const hourRef = usageHourRef(key);
    const markerRefs = ids.map((id) => usageIds.doc(usageIdDocId(id)));
    const failedAttempts = new Set<string>();
    for (let round = 1; ; round += 1) {
      let attempt = '';
      try {
        return await db.runTransaction(async (tx): Promise<ChunkResult> => {
          attempt = randomUUID();
          const [seal, ...markers] = await tx.getAll(usageSealRef(key), ...markerRefs);
          const accepted: string[] = [];
          const seen: string[] = [];
          const toCreate: number[] = [];
          ids.forEach((id, index) => {
            const marker = markers[index];
            if (!marker?.exists) {
              accepted.push(id);
              toCreate.push(index);
            } else if (failedAttempts.has(marker.get('attempt') as string)) {
              accepted.push(id);
            } else {
              seen.push(id);
            }
          });
          // Counted before the seal: a retry of it is answered, not refused.
          if (accepted.length === 0) return { accepted, seen };
          if (seal?.exists) throw new UsageHourSealedError(describeHour(key));
          const counted = accepted.map((id) => records.get(id)!);
          for (const index of toCreate) {
            const id = ids[index]!;
            tx.create(
              markerRefs[index]!,
              usageIdToDoc(id, key, records.get(id)!.quantity, expiresAtEpochSeconds, attempt),
            );
          }
          const sum = counted.reduce((total, record) => total + record.quantity, 0);
          // Unsealed means open, so restating the open hour's fields changes nothing but the
          // first time, and spares reading the hour.
          const doc = newUsageHourDoc(key, FieldValue.increment(sum), nowEpochMs);
          for (const total of totalsByTagSet(counted)) {
            const fields = allocationFields(tagSetId(total.canonical));
            doc[fields.quantity] = FieldValue.increment(total.quantity);
            // The same value on every add; written only while the hour may not hold it yet.
            if (!known.sets.has(total.canonical)) doc[fields.tags] = total.canonical;
          }
          tx.set(hourRef, doc, { merge: true });
          return { accepted, seen };
        });
      } catch (error) {
        if (grpcCode(error) !== GRPC_ALREADY_EXISTS) throw error;
        if (round >= MAX_CREATE_ROUNDS) {
          throw new ConcurrencyConflictError(
            `usage ids of ${describeHour(key)} kept colliding with concurrent adds`,
            null,
            { cause: error },
          );
        }
        failedAttempts.add(attempt);
      }
    }
  };

  /** The markers of `ids` that exist, by usage id. */
  const countedAmong = async (ids: readonly string[]): Promise<Map<string, CountedUsage>> => {
    const found = new Map<string, CountedUsage>();
    for (const chunk of chunksOf([...new Set(ids)], MARKER_READS)) {
      const snapshots = await db.getAll(...chunk.map((id) => usageIds.doc(usageIdDocId(id))));
      for (const snapshot of snapshots) {
        if (!snapshot.exists) continue;
        const counted = countedUsageFromDoc(snapshot.data()!);
        found.set(counted.usageId, counted);
      }
    }
    return found;
  };

  /**
   * The records that are new to the store must fit the hour's total, in their order (see
   * `assertHourTotalRoom`). All of them usually fit without asking which are new.
   */
  const assertTotalRoom = async (
    total: number,
    records: ReadonlyMap<string, CountedRecord>,
  ): Promise<void> => {
    const all = [...records.values()];
    if (all.reduce((sum, record) => sum + record.quantity, total) <= MAX_USAGE_QUANTITY) return;
    const counted = await countedAmong([...records.keys()]);
    assertHourTotalRoom(
      total,
      [...records]
        .filter(([id]) => !counted.has(id))
        .map(([, record]) => ({ quantity: record.quantity, path: record.at })),
    );
  };

  /** Claims what is still due among `refs`, in their order, in one transaction. */
  const claimChunk = (
    refs: readonly DocumentReference[],
    nowEpochMs: number,
    leaseMs: number,
  ): Promise<OutboxMessage[]> =>
    db.runTransaction(async (tx) => {
      const snapshots = await tx.getAll(...refs);
      const claimed: OutboxMessage[] = [];
      for (const snapshot of snapshots) {
        const due = snapshot.get('dueAtEpochMs') as unknown;
        // Another claimer may have taken it, or it was acked, since the query saw it.
        if (!snapshot.exists || typeof due !== 'number' || due > nowEpochMs) continue;
        const message = outboxFromDoc(snapshot.data()!);
        const next: OutboxMessage = {
          ...message,
          attempts: message.attempts + 1,
          nextAttemptAtEpochMs: nowEpochMs + leaseMs,
          claimId: randomUUID(),
        };
        tx.update(snapshot.ref, {
          attempts: next.attempts,
          nextAttemptAtEpochMs: next.nextAttemptAtEpochMs,
          dueAtEpochMs: next.nextAttemptAtEpochMs,
          claimId: next.claimId,
        });
        claimed.push(next);
      }
      return claimed;
    });

  /** The documents among `ids` that are due, oldest first, read outside any transaction. */
  const dueAmong = async (
    ids: readonly string[],
    nowEpochMs: number,
    limit: number,
  ): Promise<DocumentReference[]> => {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const snapshots = await db.getAll(...unique.map(outboxRef));
    const dueOf = (snapshot: DocumentSnapshot) => snapshot.get('dueAtEpochMs') as unknown;
    return snapshots
      .filter((snapshot) => {
        const due = dueOf(snapshot);
        return snapshot.exists && typeof due === 'number' && due <= nowEpochMs;
      })
      .sort(
        (a, b) =>
          (dueOf(a) as number) - (dueOf(b) as number) ||
          ((a.get('id') as string) < (b.get('id') as string) ? -1 : 1),
      )
      .slice(0, limit)
      .map((snapshot) => snapshot.ref);
  };

  /**
   * Applies a claimer's report in a transaction: only while the message is pending under the
   * lease's claim, and ending that claim. A message claimed again, replayed, acked or failed
   * meanwhile is left as it is.
   *
   * @throws NotFoundError when no message has that id.
   */
  const updateUnderClaim = (
    lease: OutboxLease,
    changes: (message: OutboxMessage) => DocumentData,
  ): Promise<void> => {
    const ref = outboxRef(lease.id);
    return db.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      if (!snapshot.exists) throw new NotFoundError(`outbox message ${lease.id}`);
      const message = outboxFromDoc(snapshot.data()!);
      // A late report (a claimer whose lease ran out, or one overtaken by a replay) must not
      // undo what came after it.
      if (snapshot.get('dueAtEpochMs') === null || message.claimId !== lease.claimId) return;
      tx.update(ref, { ...changes(message), claimId: null });
    });
  };

  return {
    getAccount: guarded('getAccount', async (ref) => {
      validateRef(ref, 'account');
      return read(accountRef(ref), accountFromDoc);
    }),

    getEntitlement: guarded('getEntitlement', async (ref) => {
      validateRef(ref, 'entitlement');
      return read(entitlementRef(ref), entitlementFromDoc);
    }),

    getEvent: guarded('getEvent', async (cloud, eventId) => {
      assertCloud(cloud, 'cloud');
      assertStoreKey(eventId, 'eventId');
      return read(eventRef(cloud, eventId), eventFromDoc);
    }),

    putAccount: guarded('putAccount', async (account, expectedVersion) => {
      validateAccount(account, 'account');
      assertVersion(expectedVersion, 'expectedVersion');
      return putVersioned(
        accountRef(account),
        account,
        expectedVersion,
        { toDoc: accountToDoc, fromDoc: accountFromDoc },
        `account ${account.cloud}/${account.id}`,
      );
    }),

    putEntitlement: guarded('putEntitlement', async (entitlement, expectedVersion) => {
      validateEntitlement(entitlement, 'entitlement');
      assertVersion(expectedVersion, 'expectedVersion');
      return putVersioned(
        entitlementRef(entitlement),
        entitlement,
        expectedVersion,
        { toDoc: entitlementToDoc, fromDoc: entitlementFromDoc },
        `entitlement ${entitlement.cloud}/${entitlement.id}`,
      );
    }),

    loadEventContext: guarded('loadEventContext', async (input) => {
      const { cloud, eventId, accountId, entitlementId } = input;
      assertCloud(cloud, 'cloud');
      assertStoreKey(eventId, 'eventId');
      assertNullableKey(accountId, 'accountId');
      assertNullableKey(entitlementId, 'entitlementId');
      const refs = [eventRef(cloud, eventId)];
      if (accountId !== null) refs.push(accountRef({ cloud, id: accountId }));
      if (entitlementId !== null) refs.push(entitlementRef({ cloud, id: entitlementId }));
      const [event, ...rest] = await db.getAll(...refs);
      return {
        eventRecorded: event?.exists === true,
        account: accountId === null ? null : decode(rest.shift(), accountFromDoc),
        entitlement: entitlementId === null ? null : decode(rest.shift(), entitlementFromDoc),
      };
    }),

    applyDecision: guarded('applyDecision', async (decision) => {
      validateDecision(decision);
      const { event, account, entitlement } = decision;
      const eventDoc = eventRef(event.cloud, event.eventId);
      const accountDoc = account ? accountRef(account.next) : null;
      const entitlementDoc = entitlement ? entitlementRef(entitlement.next) : null;
      for (let round = 1; ; round += 1) {
        try {
          return await db.runTransaction(async (tx) => {
            const refs = [eventDoc, accountDoc, entitlementDoc].filter(
              (ref): ref is DocumentReference => ref !== null,
            );
            const [recorded, ...rest] = await tx.getAll(...refs);
            if (recorded?.exists) return 'duplicate' as const;
            const currentAccount = accountDoc ? decode(rest.shift(), accountFromDoc) : null;
            const currentEntitlement = entitlementDoc
              ? decode(rest.shift(), entitlementFromDoc)
              : null;
            if (account) {
              checkVersion(currentAccount, account.expectedVersion, `account ${account.next.id}`);
            }
            if (entitlement) {
              checkVersion(
                currentEntitlement,
                entitlement.expectedVersion,
                `entitlement ${entitlement.next.id}`,
              );
            }
            // The event first: where a failed commit is applied in part, a concurrent duplicate
            // then fails before it changes anything.
            tx.create(eventDoc, eventToDoc(event));
            if (account && accountDoc) {
              const next = { ...account.next, version: account.expectedVersion + 1 };
              writeVersioned(tx, accountDoc, accountToDoc(next), account.expectedVersion);
            }
            if (entitlement && entitlementDoc) {
              const next = { ...entitlement.next, version: entitlement.expectedVersion + 1 };
              writeVersioned(
                tx,
                entitlementDoc,
                entitlementToDoc(next),
                entitlement.expectedVersion,
              );
            }
            for (const message of decision.outbox) {
              tx.create(outboxRef(message.id), outboxToDoc(message));
            }
            return 'applied' as const;
          });
        } catch (error) {
          if (grpcCode(error) !== GRPC_ALREADY_EXISTS) throw error;
          // A create lost to a concurrent writer: read again, which turns it into a duplicate
          // or a version conflict carrying the record as it is now.
          if (round >= MAX_CREATE_ROUNDS) {
            throw new ConcurrencyConflictError(
              `decision for event ${event.cloud}/${event.eventId} kept colliding`,
              null,
              { cause: error },
            );
          }
        }
      }
    }),

    listEntitlements: guarded(
      'listEntitlements',
      async (query: EntitlementQuery, page: PageRequest) => {
        const limit = validatePageLimit(page);
        const after = decodeCursor(page.cursor, 'entitlements');
        let filtered: Query;
        switch (query?.by) {
          case 'account':
            assertCloud(query.cloud, 'query.cloud');
            assertStoreKey(query.accountId, 'query.accountId');
            filtered = entitlements
              .where('cloud', '==', query.cloud)
              .where('accountId', '==', query.accountId);
            break;
          case 'tenant':
            assertStoreKey(query.tenantId, 'query.tenantId');
            filtered = entitlements.where('tenantId', '==', query.tenantId);
            break;
          case 'status':
            assertOneOf(query.status, ENTITLEMENT_STATUSES, 'query.status');
            filtered = entitlements.where('status', '==', query.status);
            break;
          default:
            throw new ValidationError('query.by must be account, tenant or status', {
              path: 'query.by',
            });
        }
        if (after !== null) filtered = filtered.where('sortKey', '>', after);
        return listPage(filtered, 'sortKey', limit, 'entitlements', entitlementFromDoc);
      },
    ),

    listAccounts: guarded('listAccounts', async (query, page) => {
      const limit = validatePageLimit(page);
      if (query?.by !== 'tenant') {
        throw new ValidationError('query.by must be tenant', { path: 'query.by' });
      }
      assertStoreKey(query.tenantId, 'query.tenantId');
      const after = decodeCursor(page.cursor, 'accounts');
      let filtered: Query = accounts.where('tenantId', '==', query.tenantId);
      if (after !== null) filtered = filtered.where('sortKey', '>', after);
      return listPage(filtered, 'sortKey', limit, 'accounts', accountFromDoc);
    }),

    addUsage: guarded('addUsage', async (ingest: UsageIngest) => {
      validateUsageKey(ingest, 'ingest');
      const expiresAtEpochSeconds = assertInteger(
        ingest.dedupeExpiresAtEpochSeconds,
        'ingest.dedupeExpiresAtEpochSeconds',
        0,
        MAX_TIMESTAMP_SECONDS,
      );
      const nowEpochMs = assertInteger(ingest.nowEpochMs, 'ingest.nowEpochMs', 0, MAX_EPOCH_MS);
      if (!Array.isArray(ingest.records) || ingest.records.length === 0) {
        throw new ValidationError('ingest.records must hold at least one record', {
          path: 'ingest.records',
        });
      }
      const records = new Map<string, CountedRecord>();
      const repeated = new Set<string>();
      ingest.records.forEach((record, index) => {
        const path = `ingest.records[${index}]`;
        const usageId = assertStoreKey(record?.usageId, `${path}.usageId`);
        const quantity = assertInteger(record.quantity, `${path}.quantity`, 0, MAX_USAGE_QUANTITY);
        const tags =
          record.tags === undefined ? undefined : assertTags(record.tags, `${path}.tags`);
        // The first record given for an id is the one counted; later ones are duplicates.
        if (records.has(usageId)) repeated.add(usageId);
        else records.set(usageId, { quantity, tags, at: path, path: `${path}.tags` });
      });
      const key: UsageHourKey = {
        cloud: ingest.cloud,
        entitlementId: ingest.entitlementId,
        dimension: ingest.dimension,
        hourStartEpochMs: ingest.hourStartEpochMs,
      };
      // Before any write: what the records add must fit the hour, in total, number of tag sets
      // and size. Every record counts toward the tag sets, even one counted before (reading each
      // id's marker first would double the reads of every add); the total only reads the
      // markers when it is near the limit, so that a retry of what was counted still fits. The
      // adds themselves are blind, so concurrent adds at the very limit can pass it; AWS would
      // then refuse the hour, which is recorded.
      const before = (await usageHourRef(key).get()).data();
      const hourBefore = before === undefined ? null : usageHourFromDoc(before);
      await assertTotalRoom(hourBefore?.quantity ?? 0, records);
      const known = tagSetsOfHour(hourBefore);
      const added = newTagSets(known, records.values());
      if (added.size > 0) {
        assertDistinctTagSetIds([...known.sets, ...added], 'ingest.records');
        const projected: DocumentData = { ...before };
        for (const canonical of added) {
          const fields = allocationFields(tagSetId(canonical));
          projected[fields.quantity] = MAX_USAGE_QUANTITY;
          projected[fields.tags] = canonical;
        }
        assertUsageHourSize(projected, 'ingest.records');
      }
      const ids = [...records.keys()];
      const accepted = new Set<string>();
      const seen = new Set<string>(repeated);
      // Not atomic across chunks, but each chunk is, and a retried call skips what was counted.
      for (const chunk of chunksOf(ids, USAGE_CHUNK)) {
        const result = await addUsageChunk(
          key,
          chunk,
          records,
          known,
          expiresAtEpochSeconds,
          nowEpochMs,
        );
        result.accepted.forEach((id) => accepted.add(id));
        result.seen.forEach((id) => seen.add(id));
      }
      // The adds never read the hour (see addUsageChunk), so the total is read once they are in;
      // a concurrent add may already be part of it.
      const hour = await read(usageHourRef(key), usageHourFromDoc);
      return {
        accepted: ids.filter((id) => accepted.has(id)),
        duplicates: ids.filter((id) => seen.has(id)),
        quantity: hour?.quantity ?? 0,
      };
    }),

    findCountedUsage: guarded('findCountedUsage', async (ids: readonly string[]) => {
      ids.forEach((id, index) => assertStoreKey(id, `usageIds[${index}]`));
      return countedAmong(ids);
    }),

    getUsageHour: guarded('getUsageHour', async (key) => {
      validateUsageKey(key, 'key');
      return read(usageHourRef(key), usageHourFromDoc);
    }),

    listUsageHours: guarded('listUsageHours', async (query: UsageHourQuery, page) => {
      const limit = validatePageLimit(page);
      const cloud = assertCloud(query?.cloud, 'query.cloud');
      const entitlementId = assertStoreKey(query.entitlementId, 'query.entitlementId');
      const from = assertInteger(query.fromEpochMs, 'query.fromEpochMs', 0, MAX_EPOCH_MS);
      const to = assertInteger(query.toEpochMs, 'query.toEpochMs', 0, MAX_EPOCH_MS);
      const after = decodeCursor(page.cursor, 'entitlementHours');
      // The hour starts in [from, to); none lies past MAX_EPOCH_MS, the last one that sorts.
      const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
      const last = to === 0 ? -1 : hourStartEpochMs(to - 1);
      if (first > last) return { items: [], nextCursor: null };
      const { low, high } = usageHourBounds(first, last);
      if (after !== null && (after < low || after >= high)) {
        throw new ValidationError('page.cursor was not issued by this listing', {
          path: 'page.cursor',
        });
      }
      const filtered = usageHours
        .where('cloud', '==', cloud)
        .where('entitlementId', '==', entitlementId)
        .where('hourKey', after === null ? '>=' : '>', after ?? low)
        .where('hourKey', '<', high);
      return listPage(filtered, 'hourKey', limit, 'entitlementHours', usageHourFromDoc);
    }),

    listUnsentUsageHours: guarded('listUnsentUsageHours', async (query, page) => {
      const limit = validatePageLimit(page);
      const cloud = assertCloud(query?.cloud, 'query.cloud');
      const before = assertInteger(query.beforeEpochMs, 'query.beforeEpochMs', 0, MAX_EPOCH_MS);
      const after = decodeCursor(page.cursor, 'usageHours');
      const lowest = unsentKeyPrefix(cloud);
      if (after !== null && !after.startsWith(lowest)) {
        throw new ValidationError('page.cursor belongs to another cloud', { path: 'page.cursor' });
      }
      // An hour is closed when its end is at or before `before`: every start up to the floor of
      // `before - 1h`. Keys of later hours start with a larger ISO hour, so a string bound works.
      const firstOpenHour = hourStartEpochMs(before - HOUR_MS) + HOUR_MS;
      const filtered = usageHours
        .where('unsentKey', '>', after ?? lowest)
        .where('unsentKey', '<', `${lowest}${toIsoHour(firstOpenHour)}`);
      return listPage(filtered, 'unsentKey', limit, 'usageHours', usageHourFromDoc);
    }),

    sealUsageHour: guarded('sealUsageHour', async (key, nowEpochMs) => {
      validateUsageKey(key, 'key');
      assertEpochMs(nowEpochMs, 'nowEpochMs');
      const ref = usageHourRef(key);
      return db.runTransaction(async (tx) => {
        const hour = decode(await tx.get(ref), usageHourFromDoc);
        if (hour === null) throw new NotFoundError(`usage hour ${describeHour(key)}`);
        if (hour.state !== 'open') return hour;
        const sealed: UsageHour = {
          ...hour,
          state: 'sealed',
          sealedAtEpochMs: nowEpochMs,
          updatedAtEpochMs: nowEpochMs,
        };
        tx.update(ref, usageHourChangesToDoc(sealed));
        // What every add reads: from this commit on, no add gets through.
        tx.set(usageSealRef(key), { sealedAtEpochMs: nowEpochMs });
        return sealed;
      });
    }),

    markUsageHour: guarded('markUsageHour', async (key, state, answer, news) => {
      validateUsageKey(key, 'key');
      assertOneOf(state, ['sent', 'rejected'] as const, 'state');
      validateAnswer(answer);
      if (news) validateDecision({ ...news, account: null, entitlement: null });
      const ref = usageHourRef(key);
      const eventDoc = news ? eventRef(news.event.cloud, news.event.eventId) : null;
      const outboxDocs = (news?.outbox ?? []).map((message) => outboxRef(message.id));
      return db.runTransaction(async (tx) => {
        const [found, recorded, ...written] = await tx.getAll(
          ref,
          ...(eventDoc ? [eventDoc, ...outboxDocs] : []),
        );
        const hour = decode(found, usageHourFromDoc);
        if (hour === null) throw new NotFoundError(`usage hour ${describeHour(key)}`);
        if (hour.state !== 'sealed') {
          throw new ConcurrencyConflictError(
            `usage hour ${describeHour(key)} is ${hour.state}, not sealed`,
            hour,
          );
        }
        const marked: UsageHour = { ...hour, state, answer, updatedAtEpochMs: answer.atEpochMs };
        tx.update(ref, usageHourChangesToDoc(marked));
        // An event recorded already went out with an earlier write: only the mark is left.
        if (news && eventDoc && !recorded?.exists) {
          const taken = written.findIndex((doc) => doc.exists);
          if (taken >= 0) {
            throw new ValidationError(`outbox message ${news.outbox[taken]?.id} already exists`, {
              path: `news.outbox[${taken}].id`,
            });
          }
          tx.create(eventDoc, eventToDoc(news.event));
          news.outbox.forEach((message, index) =>
            tx.create(outboxDocs[index]!, outboxToDoc(message)),
          );
        }
        return marked;
      });
    }),

    claimOutbox: guarded('claimOutbox', async (claim) => {
      const nowEpochMs = assertEpochMs(claim?.nowEpochMs, 'claim.nowEpochMs');
      const limit = assertInteger(claim.limit, 'claim.limit', 1, MAX_PAGE_LIMIT);
      const leaseMs = assertInteger(claim.leaseMs, 'claim.leaseMs', 0, MAX_EPOCH_MS);
      if (claim.ids !== undefined) {
        if (!Array.isArray(claim.ids) || claim.ids.length > MAX_PAGE_LIMIT) {
          throw new ValidationError(
            `claim.ids must be a list of at most ${MAX_PAGE_LIMIT} message ids`,
            { path: 'claim.ids' },
          );
        }
        claim.ids.forEach((id, index) => assertStoreKey(id, `claim.ids[${index}]`));
      }
      // Found outside a transaction: a transactional query would lock the whole due range and
      // serialise every claimer; each claim re-checks its message inside the transaction instead.
      const due =
        claim.ids === undefined
          ? (
              await outbox
                .where('dueAtEpochMs', '<=', nowEpochMs)
                .orderBy('dueAtEpochMs')
                .limit(limit)
                .get()
            ).docs.map((doc) => doc.ref)
          : await dueAmong(claim.ids, nowEpochMs, limit);
      const claimed: OutboxMessage[] = [];
      for (const chunk of chunksOf(due, CLAIM_CHUNK)) {
        claimed.push(...(await claimChunk(chunk, nowEpochMs, leaseMs)));
      }
      return claimed;
    }),

    getOutboxMessage: guarded('getOutboxMessage', async (id) => {
      assertStoreKey(id, 'id');
      return read(outboxRef(id), outboxFromDoc);
    }),

    listOutbox: guarded('listOutbox', async (query: OutboxQuery, page) => {
      const limit = validatePageLimit(page);
      switch (query?.by) {
        case 'ordering': {
          const orderingKey = assertOrderingKey(query.orderingKey, 'query.orderingKey');
          const after = decodeCursor(page.cursor, 'outboxByOrdering');
          let filtered: Query = outbox.where('pendingOrderingKey', '==', orderingKey);
          if (after !== null) filtered = filtered.where('timeKey', '>', after);
          return listPage(filtered, 'timeKey', limit, 'outboxByOrdering', outboxFromDoc);
        }
        case 'time': {
          const from = assertEpochMs(query.fromEpochMs, 'query.fromEpochMs');
          const to = assertEpochMs(query.toEpochMs, 'query.toEpochMs');
          const after = decodeCursor(page.cursor, 'outboxByTime');
          if (to <= from) return { items: [], nextCursor: null };
          const { low, high } = outboxTimeBounds(from, to);
          if (after !== null && (after < low || after >= high)) {
            throw new ValidationError('page.cursor was not issued by this listing', {
              path: 'page.cursor',
            });
          }
          const filtered = outbox
            .where('timeKey', after === null ? '>=' : '>', after ?? low)
            .where('timeKey', '<', high);
          return listPage(filtered, 'timeKey', limit, 'outboxByTime', outboxFromDoc);
        }
        default:
          throw new ValidationError('query.by must be time or ordering', { path: 'query.by' });
      }
    }),

    ackOutbox: guarded('ackOutbox', async (lease) => {
      validateLease(lease);
      // Kept as the delivery record; only its pending listings go.
      await updateUnderClaim(lease, () => ({
        status: 'delivered',
        dueAtEpochMs: null,
        pendingOrderingKey: null,
      }));
    }),

    retryOutboxAt: guarded(
      'retryOutboxAt',
      async (lease, atEpochMs, lastError, deliveredTo = []) => {
        validateLease(lease);
        assertEpochMs(atEpochMs, 'atEpochMs');
        validateLastError(lastError);
        validateDeliveredTo(deliveredTo, 'deliveredTo');
        // The union is computed from the transaction's read rather than with arrayUnion, which
        // the in-process emulator does not implement.
        await updateUnderClaim(lease, (message) => ({
          nextAttemptAtEpochMs: atEpochMs,
          dueAtEpochMs: atEpochMs,
          lastError,
          deliveredTo: deliveredToOf([...message.deliveredTo, ...deliveredTo]),
        }));
      },
    ),

    deferOutbox: guarded('deferOutbox', async (lease, atEpochMs, deliveredTo = []) => {
      validateClaimedLease(lease);
      assertEpochMs(atEpochMs, 'atEpochMs');
      validateDeliveredTo(deliveredTo, 'deliveredTo');
      await updateUnderClaim(lease, (message) => ({
        nextAttemptAtEpochMs: atEpochMs,
        dueAtEpochMs: atEpochMs,
        attempts: Math.max(0, message.attempts - 1),
        deliveredTo: deliveredToOf([...message.deliveredTo, ...deliveredTo]),
      }));
    }),

    failOutbox: guarded('failOutbox', async (lease, lastError, deliveredTo = []) => {
      validateLease(lease);
      validateLastError(lastError);
      validateDeliveredTo(deliveredTo, 'deliveredTo');
      // Kept for the log and a replay; off the due and ordering lists, as an acked message.
      await updateUnderClaim(lease, (message) => ({
        status: 'failed',
        dueAtEpochMs: null,
        pendingOrderingKey: null,
        lastError,
        deliveredTo: deliveredToOf([...message.deliveredTo, ...deliveredTo]),
      }));
    }),

    replayOutbox: guarded('replayOutbox', async (id, nowEpochMs) => {
      assertStoreKey(id, 'id');
      assertEpochMs(nowEpochMs, 'nowEpochMs');
      const ref = outboxRef(id);
      return db.runTransaction(async (tx) => {
        const current = decode(await tx.get(ref), outboxFromDoc);
        if (current === null) throw new NotFoundError(`outbox message ${id}`);
        const replayed: OutboxMessage = {
          ...current,
          status: 'pending',
          nextAttemptAtEpochMs: nowEpochMs,
          attempts: 0,
          deliveredTo: [],
          lastError: null,
          claimId: null,
          replayedAtEpochMs: nowEpochMs,
        };
        tx.update(ref, {
          status: replayed.status,
          nextAttemptAtEpochMs: nowEpochMs,
          attempts: 0,
          deliveredTo: [],
          lastError: null,
          // Under no claim: what a claimer still at work on it reports changes nothing.
          claimId: null,
          replayedAtEpochMs: nowEpochMs,
          dueAtEpochMs: nowEpochMs,
          pendingOrderingKey: outboxOrderingKey(replayed),
          // Documents from before the listings existed join them now.
          timeKey: outboxTimeKey(replayed),
        });
        return replayed;
      });
    }),

    recordDeliveryAttempt: guarded('recordDeliveryAttempt', async (attempt) => {
      validateDeliveryAttempt(attempt);
      // The id is the entry's identity: the same entry written again replaces itself.
      await deliveryAttemptsOf(attempt.messageId)
        .doc(deliveryAttemptDocId(attempt))
        .set(deliveryAttemptToDoc(attempt));
    }),

    listDeliveryAttempts: guarded('listDeliveryAttempts', async (messageId, page) => {
      const limit = validatePageLimit(page);
      assertStoreKey(messageId, 'messageId');
      const after = decodeCursor(page.cursor, 'deliveryAttempts');
      let filtered: Query = deliveryAttemptsOf(messageId);
      if (after !== null) filtered = filtered.where('sortKey', '>', after);
      return listPage(filtered, 'sortKey', limit, 'deliveryAttempts', deliveryAttemptFromDoc);
    }),
  };
};
