/**
 * The single table behind the DynamoDB store. Every item has a string `pk` and `sk`; the
 * domain fields sit beside them as top-level attributes, plus `entity` (what the item is) for
 * people reading the raw table. Index keys are written only while an item belongs in that
 * listing, so every index is sparse.
 *
 * entity       pk / sk                          index keys (pk / sk)
 * account      ACCT#<cloud>#<id> / ACCT         gsi2 TENANT#<tenantId> / ACCT#<cloud>#<id>
 *                                                    (only while a tenant is linked)
 * entitlement  ENT#<cloud>#<id> / ENT           gsi1 ACCT#<cloud>#<accountId> / ENT#<id>
 *                                               gsi2 TENANT#<tenantId> / ENT#<cloud>#<id>
 *                                                    (only while a tenant is linked)
 *                                               gsi3 ENTSTATUS#<status> / ENT#<cloud>#<id>
 * event        EVT#<cloud>#<eventId> / EVT      none; TTL expiresAt
 * outbox       OUT#<id> / OUT                   gsi2 OUTBOX / <occurredAtEpochMs as 16
 *                                                    digits>#<id>
 *                                               gsi3 OUTBOX#DUE / <nextAttemptAtEpochMs as 16
 *                                                    digits>#<id> (only while pending)
 * ordering     OUTORD#<orderingKey>             none (only while its message is pending)
 *   marker     / <occurredAtEpochMs as 16 digits>#<id>
 * delivery     OUT#<messageId>                  none; TTL expiresAt
 *   attempt    / DLV#<atEpochMs as 16 digits>#<attempt as 16 digits>#<endpointId>
 * usage hour   USAGE#<cloud>#<entitlementId>    gsi3 UNSENT#<cloud> / <isoHour>#<entitlementId>
 *              / HOUR#<isoHour>#<dimension>          (removed once sent or rejected)
 * usage id     USAGEID#<usageId> / USAGEID      none; TTL expiresAt
 *
 * `expiresAt` (epoch seconds) is the table's TTL attribute: event records, delivery attempts
 * and usage-id markers carry it, and DynamoDB deletes them some time after it passes.
 *
 * A usage hour with tagged usage also holds, per tag set, `alloc_<id>` (its total) and
 * `allocTags_<id>` (its tags), and `allocSets` (how many sets): see `items.ts`. An outbox
 * message keeps `deliveredTo` as a string set (absent while empty), so that a retry adds its
 * endpoints with one atomic `ADD` rather than a read and a write.
 *
 * - gsi1 lists an account's entitlements (`listEntitlements` by account). Outbox rows written
 *   before the ordering markers may still carry gsi1 keys under `OUTORD#`, which nothing reads:
 *   such a row, while still pending, has no marker and holds no newer message back.
 * - gsi2 lists a tenant's entitlements and accounts across clouds, and every outbox message
 *   by time (`listOutbox` by time). A tenant's partition holds both kinds, so each listing
 *   reads only its sort-key prefix (`ENT#`, `ACCT#`).
 * - gsi3 is overloaded with the three work lists: entitlements by status, the outbox due list
 *   (claimers read it oldest first) and the unsent usage hours (the sender reads it oldest
 *   first).
 * - Partition values of one index never collide because each starts with its own prefix.
 * - A message's delivery log sits in the message's own partition (`OUT#<id>`), and an
 *   entitlement's usage hours in theirs (`USAGE#...`): both listings are base-table queries on
 *   a sort-key range, strongly consistent, with no index to pay for.
 * - The pending messages of one ordering key (`listOutbox` by ordering) are listed from
 *   ordering markers, items in the table under the key's own partition, each naming its
 *   message; the listing then reads the messages' rows. It must be strongly consistent: a
 *   delivery checks it for older events of the same purchase, and a message another function
 *   wrote a moment ago, missing from an index that lags, would let a newer one overtake it. A
 *   marker is written in the decision's transaction with its message, deleted in the same
 *   transaction as the ack or failure, and written again by a replay, so it exists exactly
 *   while its message is pending.
 *
 * Why these shapes:
 * - Ids are opaque and may contain `#`; every key attribute holds at most one free-form id,
 *   after fixed prefixes (cloud names, ISO hours and padded numbers have no `#` and a fixed
 *   shape), so no two records share a key. An ordering key (see `outboxOrderingKey`) is one id
 *   behind fixed words as well. gsi3's usage sort key may repeat across dimensions; index sort
 *   keys need not be unique and paging still resumes exactly, from the base-table keys.
 * - The usage index sort key leaves out the dimension: an entitlement id and a dimension can
 *   each be 512 bytes and an index sort key holds at most 1,024.
 * - The outbox due list and the unsent list are one partition each. Both hold only pending
 *   work (acked messages and sent hours leave), which stays small for a marketplace
 *   connector; shard the partition value if that ever changes.
 * - The outbox by time is one partition too, and it keeps every message. Writes to it come
 *   at the pace of marketplace changes (a few a minute for a busy listing, far below the
 *   1,000 writes a second one partition takes); an index partition has no size limit (the
 *   10 GB item-collection limit binds only tables with local secondary indexes), and readers
 *   only ever query it by a time range. Shard it by day if writes ever come near that rate.
 * - All indexes project every attribute, so a listing needs no second read.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The attribute DynamoDB's TTL reads, in epoch seconds. */
export const TTL_ATTRIBUTE = 'expiresAt';

export const INDEXES = {
  byAccount: { name: 'gsi1', pk: 'gsi1pk', sk: 'gsi1sk' },
  byTenant: { name: 'gsi2', pk: 'gsi2pk', sk: 'gsi2sk' },
  lists: { name: 'gsi3', pk: 'gsi3pk', sk: 'gsi3sk' },
} as const;
export type IndexSpec = (typeof INDEXES)[keyof typeof INDEXES];

/** The table's own key, for listings that query the base table rather than an index. */
export const BASE_TABLE = { name: undefined, pk: 'pk', sk: 'sk' } as const;
/** Where a listing reads: an index, or the table itself. */
export type KeySpec = IndexSpec | typeof BASE_TABLE;

const INDEX_LIST: readonly IndexSpec[] = Object.values(INDEXES);

/** The CreateTable input for the store's table; infrastructure code can reuse it as data. */
export const tableDefinition = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: ['pk', 'sk', ...INDEX_LIST.flatMap((index) => [index.pk, index.sk])].map(
    (name) => ({ AttributeName: name, AttributeType: 'S' }),
  ),
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: INDEX_LIST.map((index) => ({
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.pk, KeyType: 'HASH' },
      { AttributeName: index.sk, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'ALL' },
  })),
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the table (or finds it already there), waits until it and its indexes are ACTIVE,
 * and turns on TTL for event records, delivery attempts and usage-id markers.
 *
 * @returns whether the table was created now (false: it already existed).
 */
export const createTable = async (
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  options: { timeoutMs?: number } = {},
): Promise<boolean> => {
  // Both clients accept the low-level table commands; the union only confuses `send`'s overloads.
  const send = client.send.bind(client) as DynamoDBClient['send'];
  let created = true;
  try {
    await send(new CreateTableCommand(tableDefinition(tableName)));
  } catch (error) {
    // Local start-up calls this on every run: an existing table is the goal, not a failure.
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
    created = false;
  }
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const { Table } = await send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) break;
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE in time`);
    await sleep(500);
  }
  try {
    await send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
  } catch (error) {
    // Enabling TTL twice is refused with this message; the setting is what we want either way.
    const message = (error as { message?: string }).message ?? '';
    if (!/already enabled/i.test(message)) throw error;
  }
  return created;
};
