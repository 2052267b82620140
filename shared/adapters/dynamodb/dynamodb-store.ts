import { randomUUID } from 'node:crypto';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Decision } from '../../domain/decision';
import type { UsageNews } from '../../domain/usage-news';
import {
  ConcurrencyConflictError,
  NotFoundError,
  StoreUnavailableError,
  UsageHourSealedError,
  ValidationError,
} from '../../domain/errors';
import { assertHourTotalRoom, assertKey, MAX_USAGE_QUANTITY } from '../../domain/limits';
import type {
  Cloud,
  DeliveryAttempt,
  OutboxMessage,
  UsageAnswer,
  UsageHour,
  UsageHourKey,
  UsageTags,
} from '../../domain/model';
import { toIsoHour } from '../../domain/time';
import {
  assertUsageHourSize,
  MAX_TAG_SETS_PER_HOUR,
  newTagSets,
  tagSetOf,
  tagSetsOfHour,
  tagsFromCanonical,
  totalsByTagSet,
  untaggedTotal,
} from '../../domain/usage-allocations';
import type { HourTagSets, TagSetTotal } from '../../domain/usage-allocations';
import { assertDistinctTagSetIds, tagSetId } from '../usage/tag-set-id';
import type {
  CountedUsage,
  EntitlementQuery,
  OutboxClaim,
  OutboxLease,
  OutboxQuery,
  Page,
  PageRequest,
  Store,
  UsageHourQuery,
  UsageIngest,
  UsageIngestResult,
} from '../../ports/store';
import { decodeCursor, encodeCursor } from './cursor';
import {
  cancellationReasons,
  conditionFailureItem,
  isConditionFailure,
  isTransactionCanceled,
  isTransactionConflict,
  toStoreError,
} from './engine-errors';
import type { CancellationReason } from './engine-errors';
import {
  accountFromItem,
  accountKey,
  accountToItem,
  ALLOCATION_SETS_ATTRIBUTE,
  allocationAttributes,
  CLAIM_ID_ATTRIBUTE,
  DELIVERED_TO_ATTRIBUTE,
  deliveryAttemptFromItem,
  deliveryAttemptToItem,
  entitlementFromItem,
  entitlementKey,
  entitlementToItem,
  eventFromItem,
  eventKey,
  eventToItem,
  outboxDueBefore,
  outboxDueSortKey,
  outboxFromItem,
  outboxKey,
  outboxTimeRange,
  outboxTimeSortKey,
  outboxToItem,
  orderingMarkerKey,
  orderingMarkerToItem,
  partitions,
  pendingOutboxIndexKeys,
  sortKeyPrefixes,
  countedUsageFromItem,
  UNTAGGED_ATTRIBUTE,
  unsentEndedBy,
  unsentSortKey,
  USAGE_HOUR_ENTITY,
  usageHourFromItem,
  usageHourKey,
  usageHourRange,
  usageIdKey,
  usageIdToItem,
} from './items';
import type { Item, TableKey } from './items';
import { BASE_TABLE, INDEXES } from './table';
import type { KeySpec } from './table';
import {
  MAX_HOUR_START_EPOCH_MS,
  MAX_TRANSACTION_ITEMS,
  assertCloud,
  assertEpochMs,
  assertExpectedVersion,
  assertRef,
  validateAccount,
  validateAnswer,
  validateDecision,
  validateEntitlement,
  validateEntitlementQuery,
  validateDeliveryAttempt,
  validateEventKey,
  validateOutboxClaim,
  validateOutboxDeferral,
  validateOutboxFailure,
  validateOutboxLease,
  validateOutboxQuery,
  validateOutboxRetry,
  validatePage,
  validateTenantQuery,
  validateUsageHourQuery,
  validateUsageIngest,
  validateUsageKey,
} from './validation';

export interface DynamoDbStoreOptions {
  readonly tableName: string;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** BatchGetItem reads at most 100 keys a request. */
const MAX_BATCH_GET_KEYS = 100;
/** One transaction of usage: these many usage-id markers and the hour's update. */
const USAGE_IDS_PER_TRANSACTION = MAX_TRANSACTION_ITEMS - 1;
/**
 * Tag sets one usage transaction adds to. Each costs about 50 characters of update expression,
 * which DynamoDB caps at 4 KB; 40 leaves half of it free.
 */
const TAG_SETS_PER_TRANSACTION = 40;
/** Attempts when transactions collide (`TransactionConflict`) before giving up. */
const DECISION_ATTEMPTS = 4;
/** Usage adds pile onto one hot item by design, so they wait out more collisions. */
const USAGE_ATTEMPTS = 10;
/** Attempts of a single-item write that met a transaction in flight on its item. */
const SINGLE_WRITE_ATTEMPTS = 3;
/** Attempts to drain BatchGetItem's UnprocessedKeys (throttling) before calling it an outage. */
const BATCH_GET_ATTEMPTS = 6;
/** BatchGetItem requests in flight at once when reading many usage ids. */
const BATCH_GET_CONCURRENCY = 4;
/** Concurrent conditional updates of one claim: enough to overlap round trips, not a flood. */
const CLAIM_CONCURRENCY = 16;
const BACKOFF_BASE_MS = 20;
const BACKOFF_MAX_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter, so colliding writers spread out instead of colliding again in step. */
const backoff = (attempt: number): Promise<void> =>
  sleep(Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt));

const describeHour = (key: UsageHourKey): string =>
  `${key.cloud}/${key.entitlementId}/${key.dimension}/${toIsoHour(key.hourStartEpochMs)}`;

const keyId = (key: TableKey): string => `${key.pk}\u0000${key.sk}`;

const conditionFailed = (reason: CancellationReason | undefined): boolean =>
  reason?.code === 'ConditionalCheckFailed';

/** Runs `fn` over `items` with at most `concurrency` in flight, keeping the input order. */
const mapLimited = async <T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
};

interface Condition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/** `attribute_not_exists` for a create (version 0), otherwise the version the caller read. */
const versionCondition = (expectedVersion: number): Condition =>
  expectedVersion === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#version = :expectedVersion',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expectedVersion': expectedVersion },
      };

/** A usage record once validated, with where it and its tags were in the call (for errors). */
interface CountedRecord {
  readonly quantity: number;
  readonly tags?: UsageTags | undefined;
  /** `records[<index>]`. */
  readonly at: string;
  /** `records[<index>].tags`. */
  readonly path: string;
}

/**
 * The part of a usage transaction's update that adds to allocations: `ADD` on each tag set's
 * total and on the untagged total; for a set new to the hour its tags and a condition that it is
 * still absent; and a condition that the hour still has room, counting its sets (`allocSets`)
 * and its untagged share (once `allocUntagged` exists), whatever concurrent adds did meanwhile.
 */
const allocationUpdate = (
  totals: readonly TagSetTotal[],
  untagged: number,
  added: ReadonlySet<string>,
): {
  set: string;
  add: string;
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} => {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  let set = '';
  let add = '';
  let condition = '';
  totals.forEach((total, index) => {
    const attributes = allocationAttributes(tagSetId(total.canonical));
    names[`#a${index}`] = attributes.quantity;
    values[`:a${index}`] = total.quantity;
    add += `, #a${index} :a${index}`;
    if (!added.has(total.canonical)) return;
    names[`#t${index}`] = attributes.tags;
    values[`:t${index}`] = tagsFromCanonical(total.canonical);
    set += `, #t${index} = if_not_exists(#t${index}, :t${index})`;
    condition += ` AND attribute_not_exists(#a${index})`;
  });
  if (added.size > 0) {
    names['#allocSets'] = ALLOCATION_SETS_ATTRIBUTE;
    values[':addedSets'] = added.size;
    add += ', #allocSets :addedSets';
  }
  // Zeros make no untagged share, so they need no room.
  if (untagged > 0) {
    names['#allocUntagged'] = UNTAGGED_ATTRIBUTE;
    values[':untagged'] = untagged;
    add += ', #allocUntagged :untagged';
  }
  if (added.size > 0 || untagged > 0) {
    // Room for the new sets plus an untagged share, which is one allocation once it exists;
    // while the hour has none and this add brings none, room for the new sets alone will do.
    names['#allocSets'] = ALLOCATION_SETS_ATTRIBUTE;
    values[':room'] = MAX_TAG_SETS_PER_HOUR - added.size - 1;
    let room = '#allocSets <= :room';
    if (untagged === 0) {
      names['#allocUntagged'] = UNTAGGED_ATTRIBUTE;
      values[':roomWithoutUntagged'] = MAX_TAG_SETS_PER_HOUR - added.size;
      room += ' OR (attribute_not_exists(#allocUntagged) AND #allocSets <= :roomWithoutUntagged)';
    }
    condition += ` AND (attribute_not_exists(#allocSets) OR ${room})`;
  }
  return { set, add, condition, names, values };
};

/**
 * Splits new usage ids into transactions: at most `USAGE_IDS_PER_TRANSACTION` ids, and at most
 * `TAG_SETS_PER_TRANSACTION` tag sets, whose names and values make the update expression grow.
 */
const usageChunks = (
  usageIds: readonly string[],
  records: ReadonlyMap<string, CountedRecord>,
): string[][] => {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let sets = new Set<string>();
  for (const usageId of usageIds) {
    const set = tagSetOf(records.get(usageId)!.tags);
    const newSet = set !== null && !sets.has(set);
    if (
      chunk.length === USAGE_IDS_PER_TRANSACTION ||
      (newSet && sets.size === TAG_SETS_PER_TRANSACTION)
    ) {
      chunks.push(chunk);
      chunk = [];
      sets = new Set();
    }
    chunk.push(usageId);
    if (set !== null) sets.add(set);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
};

/** A listing's condition on the sort key, beside its partition. */
type SortKeyRange =
  | { readonly below: string }
  | { readonly between: readonly [string, string] }
  | { readonly beginsWith: string };

/** The key condition's sort-key part, and the same test for a cursor's start key. */
const sortKeyCondition = (
  range: SortKeyRange | undefined,
): {
  expression: string;
  values: Record<string, string>;
  holds: (sortKey: string) => boolean;
} => {
  if (range === undefined) return { expression: '', values: {}, holds: () => true };
  if ('below' in range) {
    return {
      expression: ' AND #sk < :below',
      values: { ':below': range.below },
      holds: (sortKey) => sortKey < range.below,
    };
  }
  if ('between' in range) {
    const [low, high] = range.between;
    return {
      expression: ' AND #sk BETWEEN :low AND :high',
      values: { ':low': low, ':high': high },
      holds: (sortKey) => sortKey >= low && sortKey <= high,
    };
  }
  return {
    expression: ' AND begins_with(#sk, :prefix)',
    values: { ':prefix': range.beginsWith },
    holds: (sortKey) => sortKey.startsWith(range.beginsWith),
  };
};

/** What an update sets, as expression parts; names and values are numbered after `tag`. */
const setClause = (
  attributes: Record<string, unknown>,
  tag: string,
): { expression: string; names: Record<string, string>; values: Record<string, unknown> } => {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts = Object.entries(attributes).map(([name, value], index) => {
    names[`#${tag}${index}`] = name;
    values[`:${tag}${index}`] = value;
    return `#${tag}${index} = :${tag}${index}`;
  });
  return { expression: parts.join(', '), names, values };
};

/** A clause of an update expression with the names and values it uses. */
interface ExpressionPart {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/** `ADD` of endpoint ids to the message's set; nothing without any (DynamoDB refuses empty sets). */
const deliveredToClause = (deliveredTo: readonly string[]): ExpressionPart =>
  deliveredTo.length === 0
    ? { expression: '', names: {}, values: {} }
    : {
        expression: ' ADD #deliveredTo :deliveredTo',
        names: { '#deliveredTo': DELIVERED_TO_ATTRIBUTE },
        values: { ':deliveredTo': new Set(deliveredTo) },
      };

/**
 * The index attributes a pending message has (see `pendingOutboxIndexKeys`), and the gsi1 keys
 * that rows written before the ordering markers still carry.
 */
const PENDING_INDEX_ATTRIBUTES = {
  '#orderingPk': INDEXES.byAccount.pk,
  '#orderingSk': INDEXES.byAccount.sk,
  '#duePk': INDEXES.lists.pk,
  '#dueSk': INDEXES.lists.sk,
} as const;

/**
 * The `Store` port on one DynamoDB table (layout in `table.ts`). Reads are strongly
 * consistent, and so are the listings that query the table itself (delivery attempts, an
 * entitlement's usage hours, the pending messages of an ordering key); the other listings read
 * global secondary indexes (eventually consistent in AWS, so a record written a moment ago may
 * be missing from them).
 */
export const createDynamoDbStore = (
  client: DynamoDBDocumentClient,
  options: DynamoDbStoreOptions,
): Store => {
  const TableName = options.tableName;

  /**
   * Sends one request. A single-item write that meets a transaction in flight on its item is
   * refused outright and is safe to repeat, so it is, a few times. Condition failures,
   * cancelled transactions and lasting collisions come back raw for the caller to read (only
   * it knows which record to report); everything else becomes the port's errors.
   */
  const run = async <T>(operation: string, request: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await request();
      } catch (error) {
        if (isTransactionConflict(error) && attempt < SINGLE_WRITE_ATTEMPTS) {
          await backoff(attempt);
          continue;
        }
        const forCaller =
          isConditionFailure(error) || isTransactionCanceled(error) || isTransactionConflict(error);
        throw forCaller ? error : toStoreError(error, operation);
      }
    }
  };

  const getItem = async (key: TableKey, operation: string): Promise<Item | undefined> => {
    const output = await run(operation, () =>
      client.send(new GetCommand({ TableName, Key: key, ConsistentRead: true })),
    );
    return output.Item;
  };

  /** Reads many items by key, strongly consistent; the answer is keyed by `keyId`. */
  const batchGet = async (keys: readonly TableKey[]): Promise<Map<string, Item>> => {
    const found = new Map<string, Item>();
    for (let start = 0; start < keys.length; start += MAX_BATCH_GET_KEYS) {
      let pending: Array<Record<string, unknown>> = keys
        .slice(start, start + MAX_BATCH_GET_KEYS)
        .map((key) => ({ ...key }));
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        if (attempt > BATCH_GET_ATTEMPTS) {
          throw new StoreUnavailableError('DynamoDB kept items of a batch read unprocessed');
        }
        if (attempt > 1) await backoff(attempt);
        const output = await run('batch get', () =>
          client.send(
            new BatchGetCommand({
              RequestItems: { [TableName]: { Keys: pending, ConsistentRead: true } },
            }),
          ),
        );
        for (const item of output.Responses?.[TableName] ?? []) {
          found.set(keyId(item as unknown as TableKey), item);
        }
        pending = output.UnprocessedKeys?.[TableName]?.Keys ?? [];
      }
    }
    return found;
  };

  /** Reads a record for a conflict: what the failed condition saw, else a fresh read. */
  const currentOf = async <T>(
    seen: Item | undefined,
    key: TableKey,
    fromItem: (item: Item) => T,
    operation: string,
  ): Promise<T | null> => {
    const item = seen ?? (await getItem(key, operation));
    return item ? fromItem(item) : null;
  };

  const putVersioned = async <T extends { version: number }>(
    what: string,
    next: T,
    expectedVersion: number,
    toItem: (record: T) => Item,
    fromItem: (item: Item) => T,
    key: TableKey,
  ): Promise<T> => {
    const stored = { ...next, version: expectedVersion + 1 };
    try {
      await run(`put ${what}`, () =>
        client.send(
          new PutCommand({
            TableName,
            Item: toItem(stored),
            ...versionCondition(expectedVersion),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return stored;
    } catch (error) {
      if (!isConditionFailure(error) && !isTransactionConflict(error)) {
        throw toStoreError(error, `put ${what}`);
      }
      // The SDK error holds the item as raw AttributeValues: the conflict carries it mapped.
      const current = await currentOf(conditionFailureItem(error), key, fromItem, `get ${what}`);
      throw new ConcurrencyConflictError<T>(
        `${what} is no longer at version ${expectedVersion}`,
        current,
      );
    }
  };

  /** Pages through one partition (of an index or the table) until `limit` items or its end. */
  const queryPage = async <T>(
    keys: KeySpec,
    partition: string,
    page: PageRequest,
    fromItem: (item: Item) => T,
    range?: SortKeyRange,
  ): Promise<Page<T>> => {
    validatePage(page);
    const condition = sortKeyCondition(range);
    let startKey: Record<string, unknown> | undefined =
      page.cursor === undefined || page.cursor === null
        ? undefined
        : decodeCursor(page.cursor, keys, partition, condition.holds);
    const items: T[] = [];
    // A page can come back short (1 MB read limit) and still have more behind it.
    do {
      const output = await run('query', () =>
        client.send(
          new QueryCommand({
            TableName,
            // Index reads cannot be strongly consistent; table reads can, at no extra cost here.
            ...(keys.name === undefined ? { ConsistentRead: true } : { IndexName: keys.name }),
            KeyConditionExpression: `#pk = :pk${condition.expression}`,
            ExpressionAttributeNames: {
              '#pk': keys.pk,
              ...(range === undefined ? {} : { '#sk': keys.sk }),
            },
            ExpressionAttributeValues: { ':pk': partition, ...condition.values },
            Limit: page.limit - items.length,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(output.Items ?? []).map(fromItem));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < page.limit);
    return { items, nextCursor: startKey === undefined ? null : encodeCursor(startKey) };
  };

  /** A listing whose range holds nothing: no read, the page request still checked. */
  const emptyPage = <T>(page: PageRequest): Page<T> => {
    validatePage(page);
    return { items: [], nextCursor: null };
  };

  const applyDecision = async (decision: Decision): Promise<'applied' | 'duplicate'> => {
    validateDecision(decision);
    type Role = 'event' | 'account' | 'entitlement' | 'outbox' | 'ordering';
    const roles: Role[] = ['event'];
    const transactItems: TransactItem[] = [
      {
        Put: {
          TableName,
          Item: eventToItem(decision.event),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
    if (decision.account) {
      const { next, expectedVersion } = decision.account;
      roles.push('account');
      transactItems.push({
        Put: {
          TableName,
          Item: accountToItem({ ...next, version: expectedVersion + 1 }),
          ...versionCondition(expectedVersion),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
    }
    if (decision.entitlement) {
      const { next, expectedVersion } = decision.entitlement;
      roles.push('entitlement');
      transactItems.push({
        Put: {
          TableName,
          Item: entitlementToItem({ ...next, version: expectedVersion + 1 }),
          ...versionCondition(expectedVersion),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
    }
    for (const message of decision.outbox) {
      roles.push('outbox');
      transactItems.push({
        Put: {
          TableName,
          Item: outboxToItem(message),
          // Never overwrite a row that may already have been delivered.
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
      if (message.status === 'pending') {
        roles.push('ordering');
        transactItems.push({ Put: { TableName, Item: orderingMarkerToItem(message) } });
      }
    }

    const reasonOf = (role: Role, reasons: readonly CancellationReason[]) =>
      reasons[roles.indexOf(role)];

    /**
     * The conflict to raise, carrying the record that moved. When both moved, or neither
     * (collisions only), the entitlement wins: it is the decision's subject, and the caller
     * reloads both before deciding again anyway.
     */
    const conflict = async (
      reasons: readonly CancellationReason[],
      why: string,
    ): Promise<ConcurrencyConflictError> => {
      const entitlementReason = reasonOf('entitlement', reasons);
      const accountReason = reasonOf('account', reasons);
      if (
        decision.entitlement &&
        (conditionFailed(entitlementReason) || !conditionFailed(accountReason))
      ) {
        const current = await currentOf(
          conditionFailed(entitlementReason) ? entitlementReason?.item : undefined,
          entitlementKey(decision.entitlement.next),
          entitlementFromItem,
          'get entitlement',
        );
        return new ConcurrencyConflictError(`entitlement ${why}`, current);
      }
      if (decision.account) {
        const current = await currentOf(
          conditionFailed(accountReason) ? accountReason?.item : undefined,
          accountKey(decision.account.next),
          accountFromItem,
          'get account',
        );
        return new ConcurrencyConflictError(`account ${why}`, current);
      }
      return new ConcurrencyConflictError(`decision ${why}`, null);
    };

    for (let attempt = 1; ; attempt += 1) {
      try {
        await run('apply decision', () =>
          client.send(new TransactWriteCommand({ TransactItems: transactItems })),
        );
        return 'applied';
      } catch (error) {
        if (!isTransactionCanceled(error)) throw toStoreError(error, 'apply decision');
        const reasons = cancellationReasons(error);
        if (reasons === undefined) {
          throw new StoreUnavailableError('DynamoDB cancelled the decision without reasons', {
            cause: error,
          });
        }
        if (conditionFailed(reasonOf('event', reasons))) return 'duplicate';
        if (
          conditionFailed(reasonOf('account', reasons)) ||
          conditionFailed(reasonOf('entitlement', reasons))
        ) {
          throw await conflict(reasons, 'changed since it was read');
        }
        const takenOutbox = roles.findIndex(
          (role, index) => role === 'outbox' && conditionFailed(reasons[index]),
        );
        if (takenOutbox >= 0) {
          const index = roles.slice(0, takenOutbox).filter((role) => role === 'outbox').length;
          throw new ValidationError(`outbox message ${decision.outbox[index]?.id} already exists`, {
            path: `outbox[${index}].id`,
          });
        }
        if (reasons.some((reason) => reason.code === 'TransactionConflict')) {
          if (attempt < DECISION_ATTEMPTS) {
            await backoff(attempt);
            continue;
          }
          throw await conflict(reasons, 'kept colliding with concurrent writes');
        }
        if (reasons.some((reason) => reason.code === 'ValidationError')) {
          throw new ValidationError('DynamoDB refused the decision', { cause: error });
        }
        throw new StoreUnavailableError('DynamoDB cancelled the decision', { cause: error });
      }
    }
  };

  /** The usage ids among `usageIds` that already have a marker. */
  const knownUsageIds = async (usageIds: readonly string[]): Promise<Set<string>> => {
    const found = await batchGet(usageIds.map(usageIdKey));
    return new Set(usageIds.filter((usageId) => found.has(keyId(usageIdKey(usageId)))));
  };

  /**
   * Counts one chunk of new usage ids in one transaction: a marker per id (absent until now)
   * and the hour's sums, its total and each allocation's, so an id is counted exactly when its
   * marker exists. A tag set new to the hour is added on condition that it is still absent and
   * that the hour still has room for it (see `allocationUpdate`).
   *
   * @param known the hour's tag sets as last seen: they only ever grow.
   * @returns the ids counted (the rest turned out to be counted by a concurrent call), and the
   * hour's tag sets with the chunk's.
   */
  const addUsageChunk = async (
    ingest: UsageIngest,
    records: ReadonlyMap<string, CountedRecord>,
    chunk: readonly string[],
    known: HourTagSets,
  ): Promise<{ counted: string[]; known: HourTagSets }> => {
    let pending = [...chunk];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const counted = pending.map((usageId) => records.get(usageId)!);
      const sum = counted.reduce((total, record) => total + record.quantity, 0);
      // The total must still have room for the sum when the add lands, whatever concurrent
      // adds did meanwhile: the hour never holds more than a marketplace takes.
      const quantityRoom = MAX_USAGE_QUANTITY - sum;
      const untagged = untaggedTotal(counted);
      // Checked on every attempt: a lost condition may have shown sets other adds took.
      const added = newTagSets(known, counted);
      const allocations = allocationUpdate(totalsByTagSet(counted), untagged, added);
      const transactItems: TransactItem[] = [
        ...pending.map((usageId): TransactItem => ({
          Put: {
            TableName,
            Item: usageIdToItem(
              usageId,
              ingest,
              records.get(usageId)!.quantity,
              ingest.dedupeExpiresAtEpochSeconds,
            ),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        })),
        {
          Update: {
            TableName,
            Key: usageHourKey(ingest),
            // The identity and index keys are rewritten with the same values on every add:
            // cheaper than a first-add branch, and an open hour is always on the unsent list.
            UpdateExpression:
              'SET #entity = :entity, #cloud = :cloud, #entitlementId = :entitlementId, ' +
              '#dimension = :dimension, #hourStart = :hourStart, #state = :open, ' +
              '#sealedAt = :null, #answer = :null, #updatedAt = :now, ' +
              `#gsiPk = :unsentPk, #gsiSk = :unsentSk${allocations.set} ` +
              `ADD #quantity :sum${allocations.add}`,
            ConditionExpression:
              '(attribute_not_exists(pk) OR #state = :open) AND ' +
              `(attribute_not_exists(#quantity) OR #quantity <= :quantityRoom)${allocations.condition}`,
            ExpressionAttributeNames: {
              '#entity': 'entity',
              '#cloud': 'cloud',
              '#entitlementId': 'entitlementId',
              '#dimension': 'dimension',
              '#hourStart': 'hourStartEpochMs',
              '#state': 'state',
              '#sealedAt': 'sealedAtEpochMs',
              '#answer': 'answer',
              '#updatedAt': 'updatedAtEpochMs',
              '#gsiPk': INDEXES.lists.pk,
              '#gsiSk': INDEXES.lists.sk,
              '#quantity': 'quantity',
              ...allocations.names,
            },
            ExpressionAttributeValues: {
              ':entity': USAGE_HOUR_ENTITY,
              ':cloud': ingest.cloud,
              ':entitlementId': ingest.entitlementId,
              ':dimension': ingest.dimension,
              ':hourStart': ingest.hourStartEpochMs,
              ':open': 'open',
              ':null': null,
              ':now': ingest.nowEpochMs,
              ':unsentPk': partitions.unsentUsage(ingest.cloud),
              ':unsentSk': unsentSortKey(ingest),
              ':sum': sum,
              ':quantityRoom': quantityRoom,
              ...allocations.values,
            },
            // What failed the condition: a sealed hour, a total that concurrent adds grew, or
            // tag sets that arrived meanwhile.
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ];
      try {
        // The SDK sends one ClientRequestToken with all its own retries of a call, so a
        // response lost on the way back cannot count the chunk twice.
        await run('add usage', () =>
          client.send(new TransactWriteCommand({ TransactItems: transactItems })),
        );
        return {
          counted: pending,
          known: {
            sets: new Set([...known.sets, ...added]),
            untagged: known.untagged || untagged > 0,
          },
        };
      } catch (error) {
        if (!isTransactionCanceled(error)) throw toStoreError(error, 'add usage');
        const reasons = cancellationReasons(error) ?? [];
        const hourReason = reasons[pending.length];
        if (reasons.slice(0, pending.length).some(conditionFailed)) {
          // A concurrent call counted some of these ids since we looked: drop them and retry.
          const known = await knownUsageIds(pending);
          pending = pending.filter((usageId) => !known.has(usageId));
          if (known.size > 0) continue;
        } else if (conditionFailed(hourReason)) {
          const current =
            hourReason?.item ?? (await getItem(usageHourKey(ingest), 'get usage hour'));
          if (current === undefined || current.state !== 'open') {
            throw new UsageHourSealedError(describeHour(ingest));
          }
          // Still open: concurrent adds left too little of the total for one of these records
          // (refused, naming it), took one of our new tag sets, or the hour's last room.
          const hour = usageHourFromItem(current);
          assertHourTotalRoom(
            hour.quantity,
            counted.map((record) => ({ quantity: record.quantity, path: record.at })),
          );
          known = tagSetsOfHour(hour);
        } else if (reasons.some((reason) => reason.code === 'ValidationError')) {
          throw new ValidationError('DynamoDB refused the usage write', { cause: error });
        } else if (!reasons.some((reason) => reason.code === 'TransactionConflict')) {
          throw new StoreUnavailableError('DynamoDB cancelled the usage write', { cause: error });
        }
        if (attempt >= USAGE_ATTEMPTS) {
          const current = await getItem(usageHourKey(ingest), 'get usage hour');
          throw new ConcurrencyConflictError<UsageHour>(
            `usage hour ${describeHour(ingest)} kept colliding with concurrent writes`,
            current ? usageHourFromItem(current) : null,
          );
        }
        await backoff(attempt);
      }
    }
    return { counted: [], known };
  };

  const addUsage = async (ingest: UsageIngest): Promise<UsageIngestResult> => {
    validateUsageIngest(ingest);
    // First-seen order; a repeat within the call keeps the first record and is a duplicate.
    const records = new Map<string, CountedRecord>();
    const repeated = new Set<string>();
    ingest.records.forEach(({ usageId, quantity, tags }, index) => {
      if (records.has(usageId)) repeated.add(usageId);
      else
        records.set(usageId, {
          quantity,
          tags,
          at: `records[${index}]`,
          path: `records[${index}].tags`,
        });
    });
    const usageIds = [...records.keys()];
    const hourKey = usageHourKey(ingest);
    // One read answers both: which ids were counted before, and what allocations the hour has.
    const found = await batchGet([...usageIds.map(usageIdKey), hourKey]);
    const hourItem = found.get(keyId(hourKey));
    const fresh = usageIds.filter((usageId) => !found.has(keyId(usageIdKey(usageId))));
    // Before any write: what the fresh records add must fit the hour, in total, number of tag
    // sets and size.
    const before = hourItem ? usageHourFromItem(hourItem) : null;
    assertHourTotalRoom(
      before?.quantity ?? 0,
      fresh.map((usageId) => ({
        quantity: records.get(usageId)!.quantity,
        path: records.get(usageId)!.at,
      })),
    );
    let known = tagSetsOfHour(before);
    const added = newTagSets(
      known,
      fresh.map((usageId) => records.get(usageId)!),
    );
    if (added.size > 0) {
      assertDistinctTagSetIds([...known.sets, ...added], 'records');
      const projected: Item = { ...hourItem };
      for (const canonical of added) {
        const attributes = allocationAttributes(tagSetId(canonical));
        projected[attributes.quantity] = MAX_USAGE_QUANTITY;
        projected[attributes.tags] = tagsFromCanonical(canonical);
      }
      assertUsageHourSize(projected, 'records');
    }
    const accepted = new Set<string>();
    for (const chunk of usageChunks(fresh, records)) {
      const result = await addUsageChunk(ingest, records, chunk, known);
      for (const usageId of result.counted) accepted.add(usageId);
      known = result.known;
    }
    const hour = await getItem(hourKey, 'get usage hour');
    return {
      accepted: usageIds.filter((usageId) => accepted.has(usageId)),
      duplicates: usageIds.filter((usageId) => !accepted.has(usageId) || repeated.has(usageId)),
      quantity: hour ? usageHourFromItem(hour).quantity : 0,
    };
  };

  const findCountedUsage = async (
    usageIds: readonly string[],
  ): Promise<ReadonlyMap<string, CountedUsage>> => {
    usageIds.forEach((usageId, index) => assertKey(usageId, `usageIds[${index}]`));
    const unique = [...new Set(usageIds)];
    const reads: string[][] = [];
    for (let start = 0; start < unique.length; start += MAX_BATCH_GET_KEYS) {
      reads.push(unique.slice(start, start + MAX_BATCH_GET_KEYS));
    }
    const found = await mapLimited(reads, BATCH_GET_CONCURRENCY, (ids) =>
      batchGet(ids.map(usageIdKey)),
    );
    return new Map(
      found.flatMap((items) =>
        [...items.values()].map((item): [string, CountedUsage] => {
          const counted = countedUsageFromItem(item);
          return [counted.usageId, counted];
        }),
      ),
    );
  };

  const sealUsageHour = async (key: UsageHourKey, nowEpochMs: number): Promise<UsageHour> => {
    validateUsageKey(key);
    assertEpochMs(nowEpochMs, 'nowEpochMs');
    try {
      const output = await run('seal usage hour', () =>
        client.send(
          new UpdateCommand({
            TableName,
            Key: usageHourKey(key),
            UpdateExpression: 'SET #state = :sealed, #sealedAt = :now, #updatedAt = :now',
            ConditionExpression: 'attribute_exists(pk) AND #state = :open',
            ExpressionAttributeNames: {
              '#state': 'state',
              '#sealedAt': 'sealedAtEpochMs',
              '#updatedAt': 'updatedAtEpochMs',
            },
            ExpressionAttributeValues: { ':sealed': 'sealed', ':open': 'open', ':now': nowEpochMs },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return usageHourFromItem(output.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailure(error)) throw toStoreError(error, 'seal usage hour');
      // Sealed, sent and rejected hours are all frozen: hand back what was frozen.
      const current = await currentOf(
        conditionFailureItem(error),
        usageHourKey(key),
        usageHourFromItem,
        'get usage hour',
      );
      if (current === null) throw new NotFoundError(`usage hour ${describeHour(key)}`);
      return current;
    }
  };

  /** The hour as it is now, for a mark refused because it is no longer sealed. */
  const notSealed = async (key: UsageHourKey, seen: Item | undefined): Promise<Error> => {
    const current = await currentOf(seen, usageHourKey(key), usageHourFromItem, 'get usage hour');
    if (current === null) return new NotFoundError(`usage hour ${describeHour(key)}`);
    return new ConcurrencyConflictError<UsageHour>(
      `usage hour ${describeHour(key)} is ${current.state}, not sealed`,
      current,
    );
  };

  /**
   * The hour's answer, its event record and its outbox rows in one transaction.
   *
   * @returns the hour as marked, or `null` when the event was recorded already: the news went
   * out with an earlier write, and only the mark is left to do.
   */
  const markTelling = async (
    key: UsageHourKey,
    mark: NonNullable<TransactItem['Update']>,
    news: UsageNews,
  ): Promise<UsageHour | null> => {
    const transactItems: TransactItem[] = [
      { Update: { ...mark, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      {
        Put: {
          TableName,
          Item: eventToItem(news.event),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...news.outbox.map((message): TransactItem => ({
        Put: {
          TableName,
          Item: outboxToItem(message),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
    ];
    for (let attempt = 1; ; attempt += 1) {
      try {
        await run('mark usage hour', () =>
          client.send(new TransactWriteCommand({ TransactItems: transactItems })),
        );
        const marked = await getItem(usageHourKey(key), 'get usage hour');
        return usageHourFromItem(marked ?? {});
      } catch (error) {
        if (!isTransactionCanceled(error)) throw toStoreError(error, 'mark usage hour');
        const [hourReason, eventReason, ...outboxReasons] = cancellationReasons(error) ?? [];
        if (hourReason === undefined) {
          throw new StoreUnavailableError('DynamoDB cancelled the mark without reasons', {
            cause: error,
          });
        }
        if (conditionFailed(hourReason)) throw await notSealed(key, hourReason.item);
        if (conditionFailed(eventReason)) return null;
        const taken = outboxReasons.findIndex(conditionFailed);
        if (taken >= 0) {
          throw new ValidationError(`outbox message ${news.outbox[taken]?.id} already exists`, {
            path: `news.outbox[${taken}].id`,
          });
        }
        const reasons = [hourReason, eventReason, ...outboxReasons];
        if (reasons.some((reason) => reason?.code === 'TransactionConflict')) {
          if (attempt < DECISION_ATTEMPTS) {
            await backoff(attempt);
            continue;
          }
          throw new ConcurrencyConflictError(
            `usage hour ${describeHour(key)} kept colliding with concurrent writes`,
            null,
            { cause: error },
          );
        }
        if (reasons.some((reason) => reason?.code === 'ValidationError')) {
          throw new ValidationError('DynamoDB refused the mark', { cause: error });
        }
        throw new StoreUnavailableError('DynamoDB cancelled the mark', { cause: error });
      }
    }
  };

  const markUsageHour = async (
    key: UsageHourKey,
    state: 'sent' | 'rejected',
    answer: UsageAnswer,
    news?: UsageNews,
  ): Promise<UsageHour> => {
    validateUsageKey(key);
    validateAnswer(state, answer);
    if (news) validateDecision({ ...news, account: null, entitlement: null });
    const mark = {
      TableName,
      Key: usageHourKey(key),
      // Leaving the unsent list keeps that index sparse: it holds only pending hours.
      UpdateExpression:
        'SET #state = :state, #answer = :answer, #updatedAt = :at REMOVE #gsiPk, #gsiSk',
      ConditionExpression: '#state = :sealed',
      ExpressionAttributeNames: {
        '#state': 'state',
        '#answer': 'answer',
        '#updatedAt': 'updatedAtEpochMs',
        '#gsiPk': INDEXES.lists.pk,
        '#gsiSk': INDEXES.lists.sk,
      },
      ExpressionAttributeValues: {
        ':state': state,
        ':answer': answer,
        ':at': answer.atEpochMs,
        ':sealed': 'sealed',
      },
    };
    if (news) {
      const marked = await markTelling(key, mark, news);
      if (marked) return marked;
    }
    try {
      const output = await run('mark usage hour', () =>
        client.send(
          new UpdateCommand({
            ...mark,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return usageHourFromItem(output.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailure(error)) throw toStoreError(error, 'mark usage hour');
      throw await notSealed(key, conditionFailureItem(error));
    }
  };

  const listUnsentUsageHours = async (
    query: { cloud: Cloud; beforeEpochMs: number },
    page: PageRequest,
  ): Promise<Page<UsageHour>> => {
    assertCloud(query.cloud, 'query.cloud');
    assertEpochMs(query.beforeEpochMs, 'query.beforeEpochMs');
    // Past year 9999 the ISO form widens and stops sorting; no hour that late can exist.
    const before = Math.min(query.beforeEpochMs, MAX_HOUR_START_EPOCH_MS);
    return queryPage(INDEXES.lists, partitions.unsentUsage(query.cloud), page, usageHourFromItem, {
      below: unsentEndedBy(before),
    });
  };

  const listUsageHours = async (
    query: UsageHourQuery,
    page: PageRequest,
  ): Promise<Page<UsageHour>> => {
    validateUsageHourQuery(query);
    const range = usageHourRange(query.fromEpochMs, query.toEpochMs);
    if (range === null) return emptyPage(page);
    return queryPage(
      BASE_TABLE,
      partitions.usageHoursOf(query.cloud, query.entitlementId),
      page,
      usageHourFromItem,
      { between: range },
    );
  };

  /** Claims one message seen due at `nextAttemptAtEpochMs`; null when another claimer won. */
  const claimOne = async (message: OutboxMessage, until: number): Promise<OutboxMessage | null> => {
    try {
      const output = await run('claim outbox message', () =>
        client.send(
          new UpdateCommand({
            TableName,
            Key: outboxKey(message.id),
            UpdateExpression:
              'SET #next = :until, #attempts = #attempts + :one, #gsiSk = :dueSortKey, ' +
              '#claimId = :claimId',
            // The index may lag the table: the row itself must still be due as we saw it.
            ConditionExpression: '#next = :seen AND #gsiPk = :due',
            ExpressionAttributeNames: {
              '#next': 'nextAttemptAtEpochMs',
              '#attempts': 'attempts',
              '#gsiPk': INDEXES.lists.pk,
              '#gsiSk': INDEXES.lists.sk,
              '#claimId': CLAIM_ID_ATTRIBUTE,
            },
            ExpressionAttributeValues: {
              ':until': until,
              ':one': 1,
              ':seen': message.nextAttemptAtEpochMs,
              ':due': partitions.outboxDue,
              ':dueSortKey': outboxDueSortKey(until, message.id),
              ':claimId': randomUUID(),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return output.Attributes ? outboxFromItem(output.Attributes) : null;
    } catch (error) {
      // Another claimer won it, or it was acked or rescheduled since it was read.
      if (isConditionFailure(error)) return null;
      throw toStoreError(error, 'claim outbox message');
    }
  };

  /** The messages among `ids` that are pending and due, oldest first, read from the table. */
  const dueAmong = async (
    ids: readonly string[],
    nowEpochMs: number,
    limit: number,
  ): Promise<OutboxMessage[]> => {
    const found = await batchGet([...new Set(ids)].map(outboxKey));
    const dueSortKey = (item: Item) => item[INDEXES.lists.sk] as string;
    return [...found.values()]
      .filter(
        (item) =>
          item[INDEXES.lists.pk] === partitions.outboxDue &&
          (item.nextAttemptAtEpochMs as number) <= nowEpochMs,
      )
      .sort((a, b) => (dueSortKey(a) < dueSortKey(b) ? -1 : 1))
      .slice(0, limit)
      .map(outboxFromItem);
  };

  const claimOutbox = async (claim: OutboxClaim) => {
    validateOutboxClaim(claim);
    const due =
      claim.ids === undefined
        ? (
            await queryPage(
              INDEXES.lists,
              partitions.outboxDue,
              { limit: claim.limit },
              outboxFromItem,
              { below: outboxDueBefore(claim.nowEpochMs) },
            )
          ).items
        : await dueAmong(claim.ids, claim.nowEpochMs, claim.limit);
    const until = claim.nowEpochMs + claim.leaseMs;
    const claimed = await mapLimited(due, CLAIM_CONCURRENCY, (message) => claimOne(message, until));
    return claimed.filter((message) => message !== null);
  };

  /**
   * The update of a claimer's report: it holds only while the message is pending (on the due
   * list) under the lease's claim, and it ends that claim.
   */
  const updateUnderClaimInput = (
    lease: OutboxLease,
    update: {
      set: string;
      remove?: readonly string[];
      add?: ExpressionPart;
      names: Record<string, string>;
      values: Record<string, unknown>;
    },
  ) => {
    const add = update.add ?? { expression: '', names: {}, values: {} };
    const claim =
      lease.claimId === null
        ? {
            // Written absent; a NULL from a hand-written row means no claim as well.
            condition: '(attribute_not_exists(#claimId) OR attribute_type(#claimId, :null))',
            values: { ':null': 'NULL' },
          }
        : { condition: '#claimId = :claimId', values: { ':claimId': lease.claimId } };
    return {
      TableName,
      Key: outboxKey(lease.id),
      UpdateExpression:
        `SET ${update.set} REMOVE ${[...(update.remove ?? []), '#claimId'].join(', ')}` +
        add.expression,
      ConditionExpression: `#duePk = :due AND ${claim.condition}`,
      ExpressionAttributeNames: {
        ...update.names,
        ...add.names,
        '#duePk': INDEXES.lists.pk,
        '#claimId': CLAIM_ID_ATTRIBUTE,
      },
      ExpressionAttributeValues: {
        ...update.values,
        ...add.values,
        ...claim.values,
        ':due': partitions.outboxDue,
      },
    };
  };

  /**
   * Runs a claimer's report that leaves the message pending (see `updateUnderClaimInput`). A
   * message claimed again, replayed, acked or failed meanwhile is left as it is; one that does
   * not exist is NotFound.
   */
  const updateUnderClaim = async (
    lease: OutboxLease,
    operation: string,
    update: Parameters<typeof updateUnderClaimInput>[1],
  ): Promise<void> => {
    try {
      await run(operation, () =>
        client.send(
          new UpdateCommand({
            ...updateUnderClaimInput(lease, update),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw toStoreError(error, operation);
      const current =
        conditionFailureItem(error) ?? (await getItem(outboxKey(lease.id), 'get outbox message'));
      if (current === undefined) throw new NotFoundError(`outbox message ${lease.id}`);
      // A late report (a claimer whose lease ran out, or one overtaken by a replay): it stays.
    }
  };

  /**
   * Writes a message's row (the first item, conditional) and its ordering marker together,
   * again when the transaction collides with another.
   *
   * @returns false when the row's condition failed, and nothing was written.
   */
  const transactOutbox = async (
    operation: string,
    transactItems: TransactItem[],
  ): Promise<boolean> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await run(operation, () =>
          client.send(new TransactWriteCommand({ TransactItems: transactItems })),
        );
        return true;
      } catch (error) {
        if (!isTransactionCanceled(error)) throw toStoreError(error, operation);
        const reasons = cancellationReasons(error) ?? [];
        if (conditionFailed(reasons[0])) return false;
        if (
          reasons.some((reason) => reason.code === 'TransactionConflict') &&
          attempt < DECISION_ATTEMPTS
        ) {
          await backoff(attempt);
          continue;
        }
        throw new StoreUnavailableError(`DynamoDB cancelled the ${operation}`, { cause: error });
      }
    }
  };

  /**
   * Runs a claimer's report that takes the message off the pending lists (ack, failure): the
   * row's update and the removal of its ordering marker in one transaction, so the marker exists
   * exactly while the message is pending.
   */
  const endUnderClaim = async (
    lease: OutboxLease,
    operation: string,
    update: Parameters<typeof updateUnderClaimInput>[1],
  ): Promise<void> => {
    const item = await getItem(outboxKey(lease.id), 'get outbox message');
    if (item === undefined) throw new NotFoundError(`outbox message ${lease.id}`);
    const message = outboxFromItem(item);
    // Reported late (see `updateUnderClaim`): nothing to write. The condition checks it again.
    if (message.status !== 'pending' || message.claimId !== lease.claimId) return;
    await transactOutbox(operation, [
      { Update: updateUnderClaimInput(lease, update) },
      { Delete: { TableName, Key: orderingMarkerKey(message) } },
    ]);
  };

  const ackOutbox = async (lease: OutboxLease): Promise<void> => {
    validateOutboxLease(lease);
    // The row stays as the delivery record; only its pending listings go.
    await endUnderClaim(lease, 'ack outbox message', {
      set: '#status = :delivered',
      remove: Object.keys(PENDING_INDEX_ATTRIBUTES),
      names: { '#status': 'status', ...PENDING_INDEX_ATTRIBUTES },
      values: { ':delivered': 'delivered' },
    });
  };

  const retryOutboxAt = async (
    lease: OutboxLease,
    atEpochMs: number,
    lastError: string,
    deliveredTo: readonly string[] = [],
  ): Promise<void> => {
    validateOutboxRetry(lease, atEpochMs, lastError, deliveredTo);
    await updateUnderClaim(lease, 'retry outbox message', {
      set: '#next = :at, #lastError = :lastError, #dueSk = :dueSortKey',
      add: deliveredToClause(deliveredTo),
      names: {
        '#next': 'nextAttemptAtEpochMs',
        '#lastError': 'lastError',
        '#dueSk': INDEXES.lists.sk,
      },
      values: {
        ':at': atEpochMs,
        ':lastError': lastError,
        ':dueSortKey': outboxDueSortKey(atEpochMs, lease.id),
      },
    });
  };

  const deferOutbox = async (
    lease: OutboxLease,
    atEpochMs: number,
    deliveredTo: readonly string[] = [],
  ): Promise<void> => {
    validateOutboxDeferral(lease, atEpochMs, deliveredTo);
    // The claim counted one attempt (and the report ends it), so the count stays at 0 or more.
    await updateUnderClaim(lease, 'defer outbox message', {
      set: '#next = :at, #dueSk = :dueSortKey, #attempts = #attempts - :one',
      add: deliveredToClause(deliveredTo),
      names: {
        '#next': 'nextAttemptAtEpochMs',
        '#dueSk': INDEXES.lists.sk,
        '#attempts': 'attempts',
      },
      values: {
        ':at': atEpochMs,
        ':dueSortKey': outboxDueSortKey(atEpochMs, lease.id),
        ':one': 1,
      },
    });
  };

  const failOutbox = async (
    lease: OutboxLease,
    lastError: string,
    deliveredTo: readonly string[] = [],
  ): Promise<void> => {
    validateOutboxFailure(lease, lastError, deliveredTo);
    // Kept for the log and a replay; off the due and ordering lists, as an acked message.
    await endUnderClaim(lease, 'fail outbox message', {
      set: '#status = :failed, #lastError = :lastError',
      remove: Object.keys(PENDING_INDEX_ATTRIBUTES),
      add: deliveredToClause(deliveredTo),
      names: { '#status': 'status', '#lastError': 'lastError', ...PENDING_INDEX_ATTRIBUTES },
      values: { ':failed': 'failed', ':lastError': lastError },
    });
  };

  const replayOutbox = async (id: string, nowEpochMs: number): Promise<OutboxMessage> => {
    assertKey(id, 'id');
    assertEpochMs(nowEpochMs, 'nowEpochMs');
    // The ordering key derives from fields no write changes, so a plain read finds it.
    const item = await getItem(outboxKey(id), 'get outbox message');
    if (item === undefined) throw new NotFoundError(`outbox message ${id}`);
    const message = outboxFromItem(item);
    const replayed: OutboxMessage = {
      ...message,
      status: 'pending',
      nextAttemptAtEpochMs: nowEpochMs,
      attempts: 0,
      lastError: null,
      deliveredTo: [],
      claimId: null,
      replayedAtEpochMs: nowEpochMs,
    };
    const set = setClause(
      {
        status: replayed.status,
        nextAttemptAtEpochMs: nowEpochMs,
        attempts: 0,
        lastError: null,
        replayedAtEpochMs: nowEpochMs,
        ...pendingOutboxIndexKeys(message, nowEpochMs),
        // Rows from before the time listing existed join it now.
        [INDEXES.byTenant.pk]: partitions.outboxByTime,
        [INDEXES.byTenant.sk]: outboxTimeSortKey(message),
      },
      's',
    );
    // Pending again, so on the ordering list again: the row and its marker in one write. Every
    // field a replay leaves alone is one no write changes, so the row as read, replayed, is the
    // row as stored.
    const written = await transactOutbox('replay outbox message', [
      {
        Update: {
          TableName,
          Key: outboxKey(id),
          // Under no claim: what a claimer still at work on it reports changes nothing. Rows
          // from before the ordering markers lose their gsi1 keys.
          UpdateExpression: `SET ${set.expression} REMOVE #deliveredTo, #claimId, #gsi1pk, #gsi1sk`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: {
            ...set.names,
            '#deliveredTo': DELIVERED_TO_ATTRIBUTE,
            '#claimId': CLAIM_ID_ATTRIBUTE,
            '#gsi1pk': INDEXES.byAccount.pk,
            '#gsi1sk': INDEXES.byAccount.sk,
          },
          ExpressionAttributeValues: set.values,
        },
      },
      { Put: { TableName, Item: orderingMarkerToItem(message) } },
    ]);
    if (!written) throw new NotFoundError(`outbox message ${id}`);
    return replayed;
  };

  const listOutbox = async (
    query: OutboxQuery,
    page: PageRequest,
  ): Promise<Page<OutboxMessage>> => {
    validateOutboxQuery(query);
    if (query.by === 'ordering') {
      // The markers, strongly consistent, then their rows: a message written a moment ago by
      // another function is seen, which an index read might miss and let a newer one overtake.
      const markers = await queryPage(
        BASE_TABLE,
        partitions.pendingOutboxOf(query.orderingKey),
        page,
        (item) => item.id as string,
      );
      const rows = await batchGet(markers.items.map(outboxKey));
      const items = markers.items
        .map((id) => rows.get(keyId(outboxKey(id))))
        // Acked or failed since the markers were read.
        .filter((item) => item !== undefined && item[INDEXES.lists.pk] === partitions.outboxDue)
        .map((item) => outboxFromItem(item!));
      return { items, nextCursor: markers.nextCursor };
    }
    const range = outboxTimeRange(query.fromEpochMs, query.toEpochMs);
    if (range === null) return emptyPage(page);
    return queryPage(INDEXES.byTenant, partitions.outboxByTime, page, outboxFromItem, {
      between: range,
    });
  };

  const recordDeliveryAttempt = async (attempt: DeliveryAttempt): Promise<void> => {
    validateDeliveryAttempt(attempt);
    // Unconditional: the same entry written again has the same key and replaces itself.
    await run('record delivery attempt', () =>
      client.send(new PutCommand({ TableName, Item: deliveryAttemptToItem(attempt) })),
    );
  };

  const listDeliveryAttempts = async (
    messageId: string,
    page: PageRequest,
  ): Promise<Page<DeliveryAttempt>> => {
    assertKey(messageId, 'messageId');
    return queryPage(
      BASE_TABLE,
      partitions.deliveryAttemptsOf(messageId),
      page,
      deliveryAttemptFromItem,
      { beginsWith: sortKeyPrefixes.deliveryAttempt },
    );
  };

  return {
    getAccount: async (ref) => {
      assertRef(ref, 'ref');
      const item = await getItem(accountKey(ref), 'get account');
      return item ? accountFromItem(item) : null;
    },

    getEntitlement: async (ref) => {
      assertRef(ref, 'ref');
      const item = await getItem(entitlementKey(ref), 'get entitlement');
      return item ? entitlementFromItem(item) : null;
    },

    getEvent: async (cloud, eventId) => {
      validateEventKey(cloud, eventId);
      const item = await getItem(eventKey(cloud, eventId), 'get event');
      return item ? eventFromItem(item) : null;
    },

    putAccount: async (account, expectedVersion) => {
      validateAccount(account);
      assertExpectedVersion(expectedVersion);
      return putVersioned(
        'account',
        account,
        expectedVersion,
        accountToItem,
        accountFromItem,
        accountKey(account),
      );
    },

    putEntitlement: async (entitlement, expectedVersion) => {
      validateEntitlement(entitlement);
      assertExpectedVersion(expectedVersion);
      return putVersioned(
        'entitlement',
        entitlement,
        expectedVersion,
        entitlementToItem,
        entitlementFromItem,
        entitlementKey(entitlement),
      );
    },

    loadEventContext: async ({ cloud, eventId, accountId, entitlementId }) => {
      validateEventKey(cloud, eventId);
      if (accountId !== null) assertKey(accountId, 'accountId');
      if (entitlementId !== null) assertKey(entitlementId, 'entitlementId');
      const keys = {
        event: eventKey(cloud, eventId),
        account: accountId === null ? null : accountKey({ cloud, id: accountId }),
        entitlement: entitlementId === null ? null : entitlementKey({ cloud, id: entitlementId }),
      };
      // One BatchGetItem: the three keys never collide, and reads stay strongly consistent.
      const found = await batchGet(
        [keys.event, keys.account, keys.entitlement].filter((key) => key !== null),
      );
      const account = keys.account ? found.get(keyId(keys.account)) : undefined;
      const entitlement = keys.entitlement ? found.get(keyId(keys.entitlement)) : undefined;
      return {
        eventRecorded: found.has(keyId(keys.event)),
        account: account ? accountFromItem(account) : null,
        entitlement: entitlement ? entitlementFromItem(entitlement) : null,
      };
    },

    applyDecision,

    listEntitlements: async (query: EntitlementQuery, page: PageRequest) => {
      validateEntitlementQuery(query);
      if (query.by === 'account') {
        const partition = partitions.entitlementsOfAccount(query.cloud, query.accountId);
        return queryPage(INDEXES.byAccount, partition, page, entitlementFromItem);
      }
      if (query.by === 'status') {
        const partition = partitions.entitlementsInStatus(query.status);
        return queryPage(INDEXES.lists, partition, page, entitlementFromItem);
      }
      // The tenant's partition holds its accounts too.
      return queryPage(
        INDEXES.byTenant,
        partitions.ofTenant(query.tenantId),
        page,
        entitlementFromItem,
        {
          beginsWith: sortKeyPrefixes.entitlement,
        },
      );
    },

    listAccounts: async (query, page) => {
      validateTenantQuery(query);
      return queryPage(
        INDEXES.byTenant,
        partitions.ofTenant(query.tenantId),
        page,
        accountFromItem,
        {
          beginsWith: sortKeyPrefixes.account,
        },
      );
    },

    addUsage,

    findCountedUsage,

    getUsageHour: async (key) => {
      validateUsageKey(key);
      const item = await getItem(usageHourKey(key), 'get usage hour');
      return item ? usageHourFromItem(item) : null;
    },

    listUsageHours,
    listUnsentUsageHours,
    sealUsageHour,
    markUsageHour,
    claimOutbox,

    getOutboxMessage: async (id) => {
      assertKey(id, 'id');
      const item = await getItem(outboxKey(id), 'get outbox message');
      return item ? outboxFromItem(item) : null;
    },

    listOutbox,
    ackOutbox,
    retryOutboxAt,
    deferOutbox,
    failOutbox,
    replayOutbox,
    recordDeliveryAttempt,
    listDeliveryAttempts,
  };
};
