import { randomUUID } from 'node:crypto';
import { createAwsUsageMeter } from '../adapters/aws/aws-usage-meter';
import { newEntitlement } from '../domain/entitlement';
import { HOUR_MS, lastClosedHourStartEpochMs } from '../domain/time';
import type { Store } from '../ports/store';
import type { MeteringRecord } from '../ports/usage-meter';
import type { StoreUnderTest } from '../test/store-contract';
import type { Simulator } from '../../sim/server';
import { meteringClient } from '../../sim/aws/testing/sdk-clients';
import { dynamoDbStoreUnderTest } from '../../test/support/stores';
import { meterUsageToAws } from './meter-usage-to-aws';
import {
  METERED_PRODUCT as PRODUCT,
  simulatedMeteringDeps,
  startUnpacedSimulator,
} from '../../test/support/simulated-metering';

describe('AWS metering through the simulator, on DynamoDB Local', () => {
  let sim: Simulator;
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    sim = await startUnpacedSimulator();
    subject = await dynamoDbStoreUnderTest();
    store = subject.store;
  });
  afterAll(async () => {
    await subject?.teardown();
    await sim?.stop();
  });

  const deps = () => simulatedMeteringDeps(sim, store);

  /** A confirmed subscription at the marketplace, and its entitlement as the notifications would store it. */
  const subscribed = async (status: 'active' | 'pending_approval' = 'active') => {
    const answer = await sim.aws.subscribe({ productCode: PRODUCT });
    const entitlement = newEntitlement(
      { cloud: 'aws', id: answer.licenseArn! },
      { accountId: answer.customerAWSAccountId, productId: PRODUCT, status },
      Date.now() - 3 * HOUR_MS,
    );
    await store.putEntitlement(entitlement, 0);
    return answer.licenseArn!;
  };
  const record = (
    entitlementId: string,
    quantity: number,
    hourStartEpochMs = lastClosedHourStartEpochMs(Date.now()),
  ) =>
    store.addUsage({
      cloud: 'aws',
      entitlementId,
      dimension: 'requests',
      hourStartEpochMs,
      records: [{ usageId: randomUUID(), quantity }],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });
  const billed = (licenseArn: string) =>
    sim.aws.meteringRecords().filter((r) => JSON.stringify(r).includes(licenseArn));

  it('sends 60 hours of usage in calls of at most 25, once, timestamped at the hour', async () => {
    const licenses = await Promise.all(Array.from({ length: 3 }, () => subscribed()));
    for (const licenseArn of licenses) {
      for (let back = 1; back <= 20; back += 1) {
        await record(
          licenseArn,
          back,
          lastClosedHourStartEpochMs(Date.now()) - (back - 1) * HOUR_MS,
        );
      }
    }
    const batchCalls = () => sim.aws.calls().BatchMeterUsage ?? 0;
    const callsBefore = batchCalls();

    const result = await meterUsageToAws(deps());
    const again = await meterUsageToAws(deps());

    expect(result).toMatchObject({ sent: 60, rejected: 0, deferred: 0 });
    expect(again.sent).toBe(0);
    // 60 records: ceil(60 / 25) calls, and none for the run that found nothing to send.
    expect(batchCalls() - callsBefore).toBe(3);
    for (const licenseArn of licenses) expect(billed(licenseArn)).toHaveLength(20);
  });

  it('sends an hour sealed by a run that crashed, with its sealed quantity, billed once', async () => {
    const licenseArn = await subscribed();
    const hour = await record(licenseArn, 7).then(() => lastClosedHourStartEpochMs(Date.now()));
    const key = {
      cloud: 'aws' as const,
      entitlementId: licenseArn,
      dimension: 'requests',
      hourStartEpochMs: hour,
    };
    await store.sealUsageHour(key, Date.now());
    await meterUsageToAws(deps());
    const sent = await store.getUsageHour(key);
    expect(sent?.state).toBe('sent');
    expect(billed(licenseArn)).toHaveLength(1);
  });

  it('holds usage back until the subscription is confirmed', async () => {
    const licenseArn = await subscribed('pending_approval');
    await record(licenseArn, 3);
    const result = await meterUsageToAws(deps());
    expect(result.waiting).toBeGreaterThanOrEqual(1);
    expect(billed(licenseArn)).toEqual([]);
  });

  it('isolates a record AWS refuses and sends the rest of its call', async () => {
    const good = await subscribed();
    const bad = await subscribed();
    await record(good, 1);
    // Older than AWS's window: the whole call is refused until the record stands alone.
    await record(bad, 1, lastClosedHourStartEpochMs(Date.now()) - 30 * HOUR_MS);
    const result = await meterUsageToAws(deps());
    expect(result.sent).toBeGreaterThanOrEqual(1);
    expect(billed(good)).toHaveLength(1);
    const refused = await store.getUsageHour({
      cloud: 'aws',
      entitlementId: bad,
      dimension: 'requests',
      hourStartEpochMs: lastClosedHourStartEpochMs(Date.now()) - 30 * HOUR_MS,
    });
    expect(refused).toMatchObject({
      state: 'rejected',
      answer: { reason: expect.stringContaining('TimestampOutOfBounds') },
    });
  });

  it('rejects no record when AWS refuses the calls for a reason of the deployment', async () => {
    const licenses = await Promise.all(Array.from({ length: 2 }, () => subscribed()));
    const hour = lastClosedHourStartEpochMs(Date.now());
    for (let back = 0; back < 15; back += 1) {
      for (const licenseArn of licenses) await record(licenseArn, 1, hour - back * HOUR_MS);
    }
    const calls = () => sim.aws.calls().BatchMeterUsage ?? 0;
    const before = calls();
    // Signed for a region the marketplace does not answer in: InvalidSignatureException,
    // which no record causes, so halving the call would only reject good records.
    const misconfigured = {
      ...deps(),
      meter: createAwsUsageMeter({
        client: meteringClient(sim.url, { maxAttempts: 1, region: 'eu-west-3' }),
        productCode: PRODUCT,
      }),
    };
    const refused = await meterUsageToAws(misconfigured);
    expect(refused).toMatchObject({ sent: 0, rejected: 0 });
    expect(refused.deferred).toBeGreaterThanOrEqual(30);
    // One call, and the rest of the run not sent at all.
    expect(calls() - before).toBe(1);

    const fixed = await meterUsageToAws(deps());
    expect(fixed).toMatchObject({ rejected: 0, deferred: 0 });
    for (const licenseArn of licenses) expect(billed(licenseArn)).toHaveLength(15);
  });

  it('bills an hour with tags as one record whose allocations sum to its quantity', async () => {
    const licenseArn = await subscribed();
    const hourStartEpochMs = lastClosedHourStartEpochMs(Date.now());
    const usage = (records: Array<{ quantity: number; tags?: Record<string, string> }>) =>
      store.addUsage({
        cloud: 'aws',
        entitlementId: licenseArn,
        dimension: 'requests',
        hourStartEpochMs,
        records: records.map((r) => ({ usageId: randomUUID(), ...r })),
        dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
        nowEpochMs: Date.now(),
      });
    await usage([
      { quantity: 4, tags: { team: 'search', env: 'prod' } },
      { quantity: 2 },
      { quantity: 3, tags: { team: 'ads' } },
    ]);
    await usage([{ quantity: 1, tags: { env: 'prod', team: 'search' } }]);

    const result = await meterUsageToAws(deps());

    expect(result.rejected).toBe(0);
    const [record, ...more] = billed(licenseArn);
    expect(more).toEqual([]);
    expect(record).toMatchObject({ quantity: 10, dimension: 'requests' });
    expect(record?.usageAllocations).toEqual([
      {
        AllocatedUsageQuantity: 5,
        Tags: [
          { Key: 'env', Value: 'prod' },
          { Key: 'team', Value: 'search' },
        ],
      },
      { AllocatedUsageQuantity: 3, Tags: [{ Key: 'team', Value: 'ads' }] },
      { AllocatedUsageQuantity: 2 },
    ]);
    const sum = record!.usageAllocations!.reduce((t, a) => t + a.AllocatedUsageQuantity, 0);
    expect(sum).toBe(record!.quantity);
    const hour = await store.getUsageHour({
      cloud: 'aws',
      entitlementId: licenseArn,
      dimension: 'requests',
      hourStartEpochMs,
    });
    expect(hour).toMatchObject({ state: 'sent', quantity: 10 });
    expect(hour?.allocations).toHaveLength(3);
  });

  it('re-sends a tagged hour after a crash exactly as it sent it, billed once', async () => {
    const licenseArn = await subscribed();
    const hourStartEpochMs = lastClosedHourStartEpochMs(Date.now());
    await store.addUsage({
      cloud: 'aws',
      entitlementId: licenseArn,
      dimension: 'requests',
      hourStartEpochMs,
      records: [
        { usageId: randomUUID(), quantity: 6, tags: { team: 'a' } },
        { usageId: randomUUID(), quantity: 1 },
      ],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });
    const sent: MeteringRecord[] = [];
    const base = deps();
    const watched = {
      meter: async (records: readonly MeteringRecord[]) => {
        sent.push(...records.filter((r) => r.hour.entitlementId === licenseArn));
        return base.meter.meter(records);
      },
    };
    // The first run sends, then crashes before it records AWS's answer.
    const crashing: Store = {
      ...store,
      markUsageHour: async () => {
        throw new Error('crashed');
      },
    };
    await expect(meterUsageToAws({ ...base, store: crashing, meter: watched })).rejects.toThrow(
      'crashed',
    );
    await meterUsageToAws({ ...base, meter: watched });

    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[0]?.allocations).toEqual([
      { tags: { team: 'a' }, quantity: 6 },
      { tags: {}, quantity: 1 },
    ]);
    expect(billed(licenseArn)).toHaveLength(1);
  });

  it('says what it would send without sending in a dry run', async () => {
    const licenseArn = await subscribed();
    await record(licenseArn, 5);
    const result = await meterUsageToAws(deps(), { dryRun: true });
    expect(
      result.wouldSend?.some((r) => r.hour.entitlementId === licenseArn && r.quantity === 5),
    ).toBe(true);
    expect(billed(licenseArn)).toEqual([]);
  });
});

describe('AWS metering when AWS finds input invalid (ValidationException), on DynamoDB Local', () => {
  let sim: Simulator;
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    sim = await startUnpacedSimulator();
  });
  afterAll(async () => sim?.stop());
  // A table of its own per case: a run meters every due hour, and each case counts them all.
  beforeEach(async () => {
    subject = await dynamoDbStoreUnderTest();
    store = subject.store;
  });
  afterEach(async () => subject?.teardown());

  const deps = (productCode = PRODUCT) => simulatedMeteringDeps(sim, store, { productCode });
  const hourStartEpochMs = lastClosedHourStartEpochMs(Date.now());

  /**
   * A confirmed subscription and its entitlement; legacy ones are billed by CustomerIdentifier.
   * `accountId` stores the entitlement under another buyer account id than AWS's: one that is
   * not 12 digits makes a record AWS's model refuses (ValidationException), now that no hour
   * can hold a quantity over AWS's maximum.
   */
  const subscribed = async (legacy = false, accountIdOverride?: string) => {
    const answer = await sim.aws.subscribe({
      productCode: PRODUCT,
      ...(legacy ? { style: 'sns' } : {}),
    });
    const id = legacy ? `${answer.customerIdentifier}:${PRODUCT}` : answer.licenseArn!;
    const accountId = legacy ? answer.customerIdentifier! : answer.customerAWSAccountId;
    await store.putEntitlement(
      newEntitlement(
        { cloud: 'aws', id },
        { accountId: accountIdOverride ?? accountId, productId: PRODUCT, status: 'active' },
        Date.now() - 3 * HOUR_MS,
      ),
      0,
    );
    return id;
  };
  const keyOf = (entitlementId: string) => ({
    cloud: 'aws' as const,
    entitlementId,
    dimension: 'requests',
    hourStartEpochMs,
  });
  /** One record per quantity. */
  const record = (entitlementId: string, ...quantities: number[]) =>
    store.addUsage({
      ...keyOf(entitlementId),
      records: quantities.map((quantity) => ({ usageId: randomUUID(), quantity })),
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });
  /** What AWS billed a license, or a legacy entitlement's CustomerIdentifier. */
  const billed = (id: string) => {
    const billedAs = id.startsWith('arn:') ? id : id.split(':')[0]!;
    return sim.aws.meteringRecords().filter((r) => JSON.stringify(r).includes(billedAs));
  };
  const usageEvents = async () =>
    (
      await store.listOutbox(
        { by: 'time', fromEpochMs: 0, toEpochMs: Date.now() + HOUR_MS },
        { limit: 100 },
      )
    ).items.map((m) => [m.type, m.entitlementId]);

  it('rejects the record AWS’s model refuses with AWS’s reason and sends the others of its call', async () => {
    const good = [await subscribed(), await subscribed(), await subscribed()];
    const bad = await subscribed(false, 'not-an-account');
    for (const id of good) await record(id, 5);
    await record(bad, 7);

    const result = await meterUsageToAws(deps());

    expect(result).toMatchObject({ sent: 3, rejected: 1, deferred: 0 });
    for (const id of good) expect(billed(id)).toHaveLength(1);
    expect(billed(bad)).toEqual([]);
    expect(await store.getUsageHour(keyOf(bad))).toMatchObject({
      state: 'rejected',
      quantity: 7,
      answer: { reason: expect.stringMatching(/^ValidationException: .*pattern/) },
    });
    expect(await usageEvents()).toEqual([['usage.rejected', bad]]);
    expect(
      sim.aws.refusedCalls().filter((call) => call.errorType === 'ValidationException').length,
    ).toBeGreaterThan(0);
  });

  it('rejects nothing when every record of the call is refused alike, and sends them once fixed', async () => {
    const buyers = [await subscribed(true), await subscribed(true)];
    for (const id of buyers) await record(id, 2);

    // A product code longer than AWS's model allows: every call is invalid, whatever its records.
    const refused = await meterUsageToAws(deps('p'.repeat(256)));

    expect(refused).toMatchObject({ sent: 0, rejected: 0, deferred: 2 });
    for (const id of buyers) expect((await store.getUsageHour(keyOf(id)))?.state).toBe('sealed');
    expect(await usageEvents()).toEqual([]);
    expect(await meterUsageToAws(deps())).toMatchObject({ sent: 2, rejected: 0, deferred: 0 });
  });

  it('leaves a record refused alone for the next run: nothing shows the call itself is sound', async () => {
    const bad = await subscribed(false, 'not-an-account');
    await record(bad, 7);

    expect(await meterUsageToAws(deps())).toMatchObject({ sent: 0, rejected: 0, deferred: 1 });
    expect((await store.getUsageHour(keyOf(bad)))?.state).toBe('sealed');
    expect(await usageEvents()).toEqual([]);
  });
});
