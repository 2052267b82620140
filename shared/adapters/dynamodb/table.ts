/**
 * The single table behind the DynamoDB store. Every item has a string `pk` and `sk`; the
 * domain fields sit beside them as top-level attributes, plus `entity` (what the item is) for
 * people reading the raw table. Index keys are written only while an item belongs in that
 * listing, so every index is sparse.
 *
 * entity       pk / sk                          index keys (pk / sk)
 * account      ACCT#<cloud>#<id> / ACCT         none
 * entitlement  ENT#<cloud>#<id> / ENT           gsi1 ACCT#<cloud>#<accountId> / ENT#<id>
 *                                               gsi2 TENANT#<tenantId> / ENT#<cloud>#<id>
 *                                                    (only while a tenant is linked)
 *                                               gsi3 ENTSTATUS#<status> / ENT#<cloud>#<id>
 * event        EVT#<cloud>#<eventId> / EVT      none; TTL expiresAt
 * outbox       OUT#<id> / OUT                   gsi3 OUTBOX#DUE / <nextAttemptAtEpochMs as 16
 *                                                    digits>#<id> (removed on ack)
 * usage hour   USAGE#<cloud>#<entitlementId>    gsi3 UNSENT#<cloud> / <isoHour>#<entitlementId>
 *              / HOUR#<isoHour>#<dimension>          (removed once sent or rejected)
 * usage id     USAGEID#<usageId> / USAGEID      none; TTL expiresAt
 *
 * `expiresAt` (epoch seconds) is the table's TTL attribute: event records and usage-id
 * markers carry it, and DynamoDB deletes them some time after it passes.
 *
 * A usage hour with tagged usage also holds, per tag set, `alloc_<id>` (its total) and
 * `allocTags_<id>` (its tags), and `allocSets` (how many sets): see `items.ts`.
 *
 * - gsi1 lists an account's entitlements (`listEntitlements` by account).
 * - gsi2 lists a tenant's entitlements across clouds.
 * - gsi3 is overloaded with the three work lists: entitlements by status, the outbox due list
 *   (claimers read it oldest first) and the unsent usage hours (the sender reads it oldest
 *   first). Their partition values never collide because each starts with its own prefix.
 *
 * Why these shapes:
 * - Ids are opaque and may contain `#`; every key attribute holds at most one free-form id,
 *   after fixed prefixes (cloud names and ISO hours have no `#` and a fixed shape), so no two
 *   records share a key. gsi3's usage sort key may repeat across dimensions; index sort keys
 *   need not be unique and paging still resumes exactly, from the base-table keys.
 * - The usage index sort key leaves out the dimension: an entitlement id and a dimension can
 *   each be 512 bytes and an index sort key holds at most 1,024.
 * - The outbox due list and the unsent list are one partition each. Both hold only pending
 *   work (acked messages and sent hours leave), which stays small for a marketplace
 *   connector; shard the partition value if that ever changes.
 * - All indexes project every attribute, so a listing needs no second read.
 * - Accounts are not indexed by tenant: no port method reads them that way.
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
 * and turns on TTL for event records and usage-id markers.
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
