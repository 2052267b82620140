import { randomUUID } from 'node:crypto';
import { createAwsUsageMeter } from '../adapters/aws/aws-usage-meter';
import { createJsonLogger } from '../adapters/logging/json-logger';
import { newEntitlement } from '../domain/entitlement';
import { HOUR_MS, lastClosedHourStartEpochMs } from '../domain/time';
import type { Store } from '../ports/store';
import type { StoreUnderTest } from '../test/store-contract';
import { createSimulator } from '../../sim/server';
import type { Simulator } from '../../sim/server';
import { meteringClient } from '../../sim/aws/testing/sdk-clients';
import { dynamoDbStoreUnderTest } from '../../test/support/stores';
import { createRateLimiter } from './rate-limiter';
import { meterUsageToAws } from './meter-usage-to-aws';

const PRODUCT = 'demo0product0code0local01';

describe('AWS metering through the simulator, on DynamoDB Local', () => {
  let sim: Simulator;
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    sim = await createSimulator({ aws: { requestsPerSecond: 0 } } as Parameters<
      typeof createSimulator
    >[0]);
    subject = await dynamoDbStoreUnderTest();
    store = subject.store;
  });
  afterAll(async () => {
    await subject?.teardown();
    await sim?.stop();
  });

  const deps = () => ({
    store,
    meter: createAwsUsageMeter({
      client: meteringClient(sim.url, { maxAttempts: 1 }),
      productCode: PRODUCT,
    }),
    limiter: createRateLimiter({ ratePerSecond: 1_000, clock: { now: Date.now } }),
    clock: { now: Date.now },
    logger: createJsonLogger({ level: 'error', write: () => undefined }),
    eventTtlSeconds: 3_600,
    zeroDimensions: [] as string[],
    windowHours: 24,
    sleep: async () => undefined,
  });

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
