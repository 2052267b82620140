import { randomUUID } from 'node:crypto';
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  StoreUnavailableError,
  UsageHourTotalTooLargeError,
  ValidationError,
} from '../../domain/errors';
import { outboxOrderingKey } from '../../domain/model';
import type { UsageHourKey } from '../../domain/model';
import {
  aDecision,
  aDeliveryAttempt,
  anEntitlement,
  anEventRecord,
  anOutboxMessage,
  T0,
} from '../../test/builders';
import { describeStoreContract } from '../../test/store-contract';
import { uniqueName } from '../../../test/engines/engines';
import { dynamoDbStoreUnderTest, freshDynamoDbTable } from '../../../test/support/stores';
import { createDynamoDbStore, createTable } from './index';
import { canonicalTags } from '../../domain/usage-allocations';
import { tagSetId } from '../usage/tag-set-id';
import { encodeCursor } from './cursor';
import {
  ALLOCATION_SETS_ATTRIBUTE,
  DELIVERED_TO_ATTRIBUTE,
  deliveryAttemptKey,
  orderingMarkerKey,
  outboxDueSortKey,
  outboxTimeSortKey,
  partitions,
  UNTAGGED_ATTRIBUTE,
  unsentSortKey,
  usageHourKey,
} from './items';
import { INDEXES, TTL_ATTRIBUTE } from './table';
import { MAX_DECISION_OUTBOX } from './validation';

describeStoreContract('DynamoDB Local', dynamoDbStoreUnderTest);

describe('DynamoDB store: what the table holds', () => {
  let table: Awaited<ReturnType<typeof freshDynamoDbTable>>;
  beforeAll(async () => {
    table = await freshDynamoDbTable();
  });
  afterAll(async () => table?.drop());

  const rawItem = async (pk: string, sk: string) =>
    (
      await table.client.send(
        new GetCommand({ TableName: table.tableName, Key: { pk, sk }, ConsistentRead: true }),
      )
    ).Item;

  const inListsIndex = async (partition: string, sortKey: string) =>
    (
      await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: INDEXES.lists.name,
          KeyConditionExpression: '#pk = :pk AND #sk = :sk',
          ExpressionAttributeNames: { '#pk': INDEXES.lists.pk, '#sk': INDEXES.lists.sk },
          ExpressionAttributeValues: { ':pk': partition, ':sk': sortKey },
        }),
      )
    ).Items ?? [];

  it('is created again without error and has TTL on expiresAt', async () => {
    expect(await createTable(table.client, table.tableName)).toBe(false);
    const ttl = await table.client.send(
      new DescribeTimeToLiveCommand({ TableName: table.tableName }),
    );
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(TTL_ATTRIBUTE);
  });

  it('keeps an event expiry once, as the TTL attribute in epoch seconds', async () => {
    const event = anEventRecord();
    await table.store.applyDecision(aDecision({ event }));
    const item = await rawItem(`EVT#gcp#${event.eventId}`, 'EVT');
    expect(item?.[TTL_ATTRIBUTE]).toBe(event.expiresAtEpochSeconds);
    expect(item).not.toHaveProperty('expiresAtEpochSeconds');
    expect(await table.store.getEvent('gcp', event.eventId)).toEqual(event);
  });

  it('drops an acked outbox message from the due index and keeps the row', async () => {
    const message = anOutboxMessage({ nextAttemptAtEpochMs: T0 - 7 });
    await table.store.applyDecision(aDecision({ outbox: [message] }));
    const sortKey = outboxDueSortKey(message.nextAttemptAtEpochMs, message.id);
    expect(await inListsIndex(partitions.outboxDue, sortKey)).toHaveLength(1);
    await table.store.ackOutbox(message);
    expect(await inListsIndex(partitions.outboxDue, sortKey)).toHaveLength(0);
    const row = await rawItem(`OUT#${message.id}`, 'OUT');
    expect(row).toBeDefined();
    expect(row).not.toHaveProperty(INDEXES.lists.pk);
    const delivered = { ...message, status: 'delivered' };
    expect(await table.store.getOutboxMessage(message.id)).toEqual(delivered);
    // A late retry from a claimer whose lease ran out does not bring it back.
    await table.store.retryOutboxAt(message, T0, 'timeout');
    expect(await inListsIndex(partitions.outboxDue, sortKey)).toHaveLength(0);
    expect(await table.store.getOutboxMessage(message.id)).toEqual(delivered);
  });

  it('keeps a message by time for good, and an ordering marker in the table while pending', async () => {
    const message = anOutboxMessage({
      entitlementId: `ent-${randomUUID()}`,
      occurredAtEpochMs: T0,
    });
    await table.store.applyDecision(aDecision({ outbox: [message] }));
    const timeSortKey = outboxTimeSortKey(message);
    const marker = orderingMarkerKey(message);
    expect(marker).toEqual({
      pk: `OUTORD#gcp:entitlement:${message.entitlementId}`,
      sk: timeSortKey,
    });
    const indexKeys = async () => {
      const row = (await rawItem(`OUT#${message.id}`, 'OUT'))!;
      return {
        ordering: [row[INDEXES.byAccount.pk], row[INDEXES.byAccount.sk]],
        time: [row[INDEXES.byTenant.pk], row[INDEXES.byTenant.sk]],
        due: row[INDEXES.lists.pk],
        marker: await rawItem(marker.pk, marker.sk),
      };
    };
    expect(await indexKeys()).toEqual({
      ordering: [undefined, undefined],
      time: ['OUTBOX', timeSortKey],
      due: partitions.outboxDue,
      marker: { ...marker, entity: 'outbox-ordering', id: message.id },
    });
    await table.store.failOutbox(message, 'gave up', ['endpoint-a']);
    expect(await indexKeys()).toEqual({
      ordering: [undefined, undefined],
      time: ['OUTBOX', timeSortKey],
      due: undefined,
      marker: undefined,
    });
    const row = await rawItem(`OUT#${message.id}`, 'OUT');
    expect(row?.[DELIVERED_TO_ATTRIBUTE]).toEqual(new Set(['endpoint-a']));
    const replayed = await table.store.replayOutbox(message.id, T0);
    expect((await indexKeys()).marker).toMatchObject({ id: message.id });
    expect(await rawItem(`OUT#${message.id}`, 'OUT')).not.toHaveProperty(DELIVERED_TO_ATTRIBUTE);
    await table.store.ackOutbox(replayed);
    expect((await indexKeys()).marker).toBeUndefined();
  });

  it('lists the pending messages of an ordering key with strongly consistent reads only', async () => {
    const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
    const recording = {
      send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        return table.client.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const store = createDynamoDbStore(recording, { tableName: table.tableName });
    const entitlementId = `ent-${randomUUID()}`;
    const messages = [1, 2].map((offset) =>
      anOutboxMessage({ entitlementId, occurredAtEpochMs: T0 + offset }),
    );
    await store.applyDecision(aDecision({ outbox: messages }));
    sent.length = 0;

    const listed = await store.listOutbox(
      { by: 'ordering', orderingKey: outboxOrderingKey(messages[0]!) },
      { limit: 10 },
    );

    expect(listed.items.map((m) => m.id)).toEqual(messages.map((m) => m.id));
    expect(sent.map((command) => command.name)).toEqual(['QueryCommand', 'BatchGetCommand']);
    expect(sent[0]!.input).toMatchObject({ ConsistentRead: true });
    expect(sent[0]!.input).not.toHaveProperty('IndexName');
    expect(sent[1]!.input).toMatchObject({
      RequestItems: { [table.tableName]: { ConsistentRead: true } },
    });
  });

  it('reads a message stored before statuses: pending while due, delivered otherwise', async () => {
    const {
      status: _status,
      deliveredTo: _deliveredTo,
      claimId: _claimId,
      replayedAtEpochMs: _replayedAtEpochMs,
      ...legacy
    } = anOutboxMessage();
    const write = (id: string, due: boolean) =>
      table.client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: {
            ...legacy,
            id,
            pk: `OUT#${id}`,
            sk: 'OUT',
            entity: 'outbox',
            ...(due
              ? {
                  [INDEXES.lists.pk]: partitions.outboxDue,
                  [INDEXES.lists.sk]: outboxDueSortKey(legacy.nextAttemptAtEpochMs, id),
                }
              : {}),
          },
        }),
      );
    const [pending, delivered] = [`out-${randomUUID()}`, `out-${randomUUID()}`];
    await write(pending, true);
    await write(delivered, false);
    expect(await table.store.getOutboxMessage(pending)).toEqual({
      ...legacy,
      id: pending,
      status: 'pending',
      deliveredTo: [],
      claimId: null,
      replayedAtEpochMs: null,
    });
    expect(await table.store.getOutboxMessage(delivered)).toMatchObject({
      status: 'delivered',
      deliveredTo: [],
    });
    // A replay puts it on every list it belongs to.
    await table.store.replayOutbox(delivered, T0 + 1);
    const byTime = await table.store.listOutbox(
      {
        by: 'time',
        fromEpochMs: legacy.occurredAtEpochMs,
        toEpochMs: legacy.occurredAtEpochMs + 1,
      },
      { limit: 1_000 },
    );
    expect(byTime.items.map((m) => m.id)).toContain(delivered);
  });

  it('keeps delivery attempts in the partition of their message, with a TTL', async () => {
    const attempt = aDeliveryAttempt({ endpointId: 'endpoint#1' });
    await table.store.recordDeliveryAttempt(attempt);
    const { pk, sk } = deliveryAttemptKey(attempt);
    expect(pk).toBe(`OUT#${attempt.messageId}`);
    const item = await rawItem(pk, sk);
    expect(item?.[TTL_ATTRIBUTE]).toBe(attempt.expiresAtEpochSeconds);
    expect(item).not.toHaveProperty('expiresAtEpochSeconds');
  });

  it('refuses a cursor outside the range of its listing', async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const forged = encodeCursor({
      pk: 'ACCT#gcp#a',
      sk: 'ACCT',
      [INDEXES.byTenant.pk]: `TENANT#${tenantId}`,
      [INDEXES.byTenant.sk]: 'ACCT#gcp#a',
    });
    await expect(
      table.store.listEntitlements({ by: 'tenant', tenantId }, { limit: 1, cursor: forged }),
    ).rejects.toBeInstanceOf(ValidationError);
    const outside = encodeCursor({
      pk: 'OUT#x',
      sk: 'OUT',
      [INDEXES.byTenant.pk]: 'OUTBOX',
      [INDEXES.byTenant.sk]: '0000000000000009#x',
    });
    await expect(
      table.store.listOutbox(
        { by: 'time', fromEpochMs: 10, toEpochMs: 20 },
        { limit: 1, cursor: outside },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('drops a sent hour from the unsent index', async () => {
    const key: UsageHourKey = {
      cloud: 'aws',
      entitlementId: `l-${randomUUID()}`,
      dimension: 'requests',
      hourStartEpochMs: Date.UTC(2026, 10, 22, 3),
    };
    await table.store.addUsage({
      ...key,
      records: [{ usageId: `u-${randomUUID()}`, quantity: 2 }],
      dedupeExpiresAtEpochSeconds: 1,
      nowEpochMs: 0,
    });
    const partition = partitions.unsentUsage('aws');
    expect(await inListsIndex(partition, unsentSortKey(key))).toHaveLength(1);
    await table.store.sealUsageHour(key, T0);
    expect(await inListsIndex(partition, unsentSortKey(key))).toHaveLength(1);
    await table.store.markUsageHour(key, 'rejected', {
      status: 'CustomerNotSubscribed',
      meteringRecordId: null,
      reason: 'not subscribed',
      atEpochMs: T0,
    });
    expect(await inListsIndex(partition, unsentSortKey(key))).toHaveLength(0);
  });

  describe('usage allocations', () => {
    const aKey = (): UsageHourKey => ({
      cloud: 'aws',
      entitlementId: `l-${randomUUID()}`,
      dimension: 'requests',
      hourStartEpochMs: Date.UTC(2026, 10, 22, 4),
    });
    const add = (
      key: UsageHourKey,
      records: Array<{ quantity: number; tags?: Record<string, string> }>,
    ) =>
      table.store.addUsage({
        ...key,
        records: records.map((record) => ({ usageId: `u-${randomUUID()}`, ...record })),
        dedupeExpiresAtEpochSeconds: 1,
        nowEpochMs: T0,
      });
    const setsOf = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ quantity: 1, tags: { n: String(from + i) } }));

    it('keeps each tag set in its own top-level attributes, and counts them', async () => {
      const key = aKey();
      await add(key, [
        { quantity: 2, tags: { team: 'a', env: 'prod' } },
        { quantity: 3, tags: { env: 'prod', team: 'a' } },
        { quantity: 4 },
      ]);
      const { pk, sk } = usageHourKey(key);
      const item = (await rawItem(pk, sk))!;
      const id = tagSetId(canonicalTags({ env: 'prod', team: 'a' }));
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(item).toMatchObject({
        quantity: 9,
        [`alloc_${id}`]: 5,
        [`allocTags_${id}`]: { env: 'prod', team: 'a' },
        [ALLOCATION_SETS_ATTRIBUTE]: 1,
        [UNTAGGED_ATTRIBUTE]: 4,
      });
      expect(await table.store.getUsageHour(key)).toMatchObject({
        quantity: 9,
        allocations: [
          { tags: { env: 'prod', team: 'a' }, quantity: 5 },
          { tags: {}, quantity: 4 },
        ],
      });
      expect(Object.keys((await table.store.getUsageHour(key))!).sort()).toEqual(
        [
          'allocations',
          'answer',
          'cloud',
          'dimension',
          'entitlementId',
          'hourStartEpochMs',
          'quantity',
          'sealedAtEpochMs',
          'state',
          'updatedAtEpochMs',
        ].sort(),
      );
    });

    it('holds the limit on tag sets against concurrent adds of new ones', async () => {
      const key = aKey();
      await add(key, setsOf(0, 2_490));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => add(key, setsOf(10_000 + i, 1))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
      for (const r of results.filter((r) => r.status === 'rejected')) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
      }
      const hour = await table.store.getUsageHour(key);
      expect(hour?.allocations).toHaveLength(2_500);
      expect(hour?.quantity).toBe(2_500);
    });

    it('counts the untagged share against the limit under concurrent adds', async () => {
      const key = aKey();
      await add(key, setsOf(0, 2_499));
      const results = await Promise.allSettled([
        add(key, [{ quantity: 1 }]),
        add(key, setsOf(20_000, 1)),
      ]);
      // Either the untagged share or the 2,500th set gets the last room, never both.
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const hour = await table.store.getUsageHour(key);
      expect(hour?.allocations).toHaveLength(2_500);
      expect(hour?.allocations.reduce((sum, a) => sum + a.quantity, 0)).toBe(hour?.quantity);
    });
  });

  it("holds an hour's total to the most a marketplace takes against concurrent adds", async () => {
    const key: UsageHourKey = {
      cloud: 'aws',
      entitlementId: `l-${randomUUID()}`,
      dimension: 'requests',
      hourStartEpochMs: Date.UTC(2026, 10, 22, 5),
    };
    // Each fits the hour as read before the adds; the condition of the write lets one in.
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        table.store.addUsage({
          ...key,
          records: [{ usageId: `u-${randomUUID()}`, quantity: 1_000_000_000 }],
          dedupeExpiresAtEpochSeconds: 1,
          nowEpochMs: T0,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(UsageHourTotalTooLargeError);
    }
    expect((await table.store.getUsageHour(key))?.quantity).toBe(2_000_000_000);
  });

  it('refuses a decision with more outbox rows than one transaction holds, writing nothing', async () => {
    const decision = aDecision({
      outbox: Array.from({ length: MAX_DECISION_OUTBOX + 1 }, () => anOutboxMessage()),
    });
    await expect(table.store.applyDecision(decision)).rejects.toBeInstanceOf(ValidationError);
    expect(await table.store.getEvent('gcp', decision.event.eventId)).toBeNull();
    const full = aDecision({
      outbox: Array.from({ length: MAX_DECISION_OUTBOX }, () => anOutboxMessage()),
    });
    expect(await table.store.applyDecision(full)).toBe('applied');
  });

  it('refuses a cursor of another listing', async () => {
    const tenantId = `tenant-${randomUUID()}`;
    await Promise.all([1, 2].map(() => table.store.putEntitlement(anEntitlement({ tenantId }), 0)));
    const first = await table.store.listEntitlements({ by: 'tenant', tenantId }, { limit: 1 });
    expect(first.nextCursor).not.toBeNull();
    await expect(
      table.store.listEntitlements(
        { by: 'tenant', tenantId: `${tenantId}-other` },
        { limit: 1, cursor: first.nextCursor },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('reports an unreachable engine as StoreUnavailableError with the SDK error as cause', async () => {
    const unreachable = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const store = createDynamoDbStore(unreachable, { tableName: table.tableName });
    const error = await store.getEvent('aws', 'e-1').catch((e: unknown) => e);
    unreachable.destroy();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect((error as Error).cause).toBeDefined();
  });

  it('reports a missing table as StoreUnavailableError', async () => {
    const store = createDynamoDbStore(table.client, { tableName: uniqueName('missing') });
    await expect(store.getAccount({ cloud: 'gcp', id: 'a' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });
});
