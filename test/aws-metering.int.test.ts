import { spawn } from 'node:child_process';
import { createJsonLogger } from '../shared/adapters/logging/json-logger';
import { createAwsUsageMeter, createMeteringClient } from '../shared/adapters/aws';
import { meterUsageToAws } from '../shared/app/meter-usage-to-aws';
import { createRateLimiter } from '../shared/app/rate-limiter';
import { loadAwsMeteringConfig } from '../shared/config/aws-config';
import { UsageHourSealedError } from '../shared/domain/errors';
import type { UsageHourKey } from '../shared/domain/model';
import { HOUR_MS } from '../shared/domain/time';
import { VendorEventType } from '../shared/domain/vendor-events';
import type { Store } from '../shared/ports/store';
import { DIMENSIONS, postRegistration, startAwsStack } from './support/aws-stack';
import type { AwsStack, AwsStackOptions } from './support/aws-stack';
import {
  addUsage,
  batchCalls,
  billedFor,
  billedKey,
  entitlementOf,
  hourAgo,
  scheduledEvent,
  subscribe,
  usageHour,
  usageKey,
  vendorMessages,
} from './support/aws-usage';
import type { Buyer } from './support/aws-usage';
import { inParallel } from '../shared/app/in-parallel';

const silent = createJsonLogger({ level: 'error', write: () => undefined });

/** `count` distinct (buyer, dimension, closed hour) keys, spread over the buyers. */
const keysFor = (buyers: readonly Buyer[], count: number, hoursBack = 20): UsageHourKey[] => {
  const keys: UsageHourKey[] = [];
  for (const buyer of buyers) {
    for (let back = 1; back <= hoursBack; back += 1) {
      for (const dimension of DIMENSIONS) keys.push(usageKey(buyer, dimension, hourAgo(back)));
    }
  }
  if (keys.length < count) throw new Error(`${count} keys need more buyers or hours`);
  return keys.slice(0, count);
};

const quantityOf = (key: UsageHourKey) =>
  1 + ((key.hourStartEpochMs / HOUR_MS) % 97) + DIMENSIONS.indexOf(key.dimension);

const recordUsage = (stack: AwsStack, keys: readonly UsageHourKey[]) =>
  inParallel(keys, 16, (key) => addUsage(stack, key, quantityOf(key)));

/**
 * Waits for the next hour when this one ends within `marginMs`: a case names its hours when it
 * starts (the open one, the last closed one) and they must still be those when it asserts.
 */
const clearOfHourEnd = async (marginMs = 15_000): Promise<void> => {
  const leftMs = HOUR_MS - (Date.now() % HOUR_MS);
  if (leftMs < marginMs) await new Promise((resolve) => setTimeout(resolve, leftMs + 1_000));
};

const simKey = (buyer: Buyer, key: UsageHourKey) =>
  `${buyer.billedAs}|${key.dimension}|${key.hourStartEpochMs}`;

describe('AWS hourly metering: the metering function, the simulator, DynamoDB Local', () => {
  const running: AwsStack[] = [];
  /** A stack of its own for each case: a run meters every buyer's hours, so cases never share. */
  const start = async (options: AwsStackOptions = {}): Promise<AwsStack> => {
    await clearOfHourEnd();
    const stack = await startAwsStack({
      ...options,
      // Cases set their own hours relative to now: AWS's month-end rule would make them depend
      // on the date (timestamp-window.test.ts holds the simulator to that rule).
      aws: {
        ...options.aws,
        meteringWindow: { monthEndGraceMs: null, ...options.aws?.meteringWindow },
      },
      env: { METERING_ZERO_RECORDS: 'false', ...options.env },
    });
    running.push(stack);
    return stack;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((stack) => stack.stop()));
  });

  /** The metering function, invoked as its hourly EventBridge schedule does. */
  const runHourly = (stack: AwsStack) => stack.metering(scheduledEvent());

  /** Every row is sent and carries the MeteringRecordId the simulator billed it under. */
  const expectAllSent = async (stack: AwsStack, buyers: readonly Buyer[], keys: UsageHourKey[]) => {
    const billedIds = new Map(
      stack.sim.aws.meteringRecords().map((record) => [billedKey(record), record.meteringRecordId]),
    );
    const byId = new Map(buyers.map((buyer) => [buyer.entitlementId, buyer]));
    const rows = await Promise.all(keys.map((key) => usageHour(stack, key)));
    rows.forEach((row, index) => {
      const key = keys[index]!;
      const id = billedIds.get(simKey(byId.get(key.entitlementId)!, key));
      expect(id).toEqual(expect.any(String));
      expect(row).toMatchObject({
        state: 'sent',
        quantity: quantityOf(key),
        answer: { status: 'Success', meteringRecordId: id },
      });
    });
  };

  /** Each key billed exactly once, with the ledger's quantity, timestamped at the hour's start. */
  const expectBilledOnce = (stack: AwsStack, buyers: readonly Buyer[], keys: UsageHourKey[]) => {
    const billed = buyers.flatMap((buyer) => billedFor(stack, buyer));
    expect(billed).toHaveLength(keys.length);
    const byKey = new Map(billed.map((record) => [billedKey(record), record]));
    expect(byKey.size).toBe(keys.length);
    const byId = new Map(buyers.map((buyer) => [buyer.entitlementId, buyer]));
    for (const key of keys) {
      const record = byKey.get(simKey(byId.get(key.entitlementId)!, key));
      expect(record).toMatchObject({
        dimension: key.dimension,
        quantity: quantityOf(key),
        timestamp: new Date(key.hourStartEpochMs).toISOString(),
      });
    }
  };

  it('sends 26 pending hours in 2 calls, once; a second run sends nothing', async () => {
    const stack = await start();
    // A legacy listing's buyer (CustomerIdentifier) and a license: one product, same calls.
    const buyers = [await subscribe(stack, { style: 'sns' }), await subscribe(stack)];
    const keys = keysFor(buyers, 26, 5);
    await recordUsage(stack, keys);

    const first = await runHourly(stack);
    expect(first).toEqual({ sent: 26, rejected: 0, deferred: 0, waiting: 0, nearWindowEnd: 0 });
    // At most 25 records a call: 25 + 1.
    expect(batchCalls(stack)).toBe(2);
    expect(stack.sim.aws.refusedCalls()).toEqual([]);
    expectBilledOnce(stack, buyers, keys);
    await expectAllSent(stack, buyers, keys);

    const second = await runHourly(stack);
    expect(second).toMatchObject({ sent: 0, rejected: 0, deferred: 0 });
    expect(batchCalls(stack)).toBe(2);
    expect(billedFor(stack, buyers[0]!).length + billedFor(stack, buyers[1]!).length).toBe(26);
  });

  it("sends 1,000 hours in 40 calls under AWS's 10 requests a second, none billed twice", async () => {
    const stack = await start({ aws: { requestsPerSecond: 10 } });
    const buyers: Buyer[] = [];
    for (let i = 0; i < 17; i += 1) buyers.push(await subscribe(stack));
    const keys = keysFor(buyers, 1_000);
    await recordUsage(stack, keys);

    const startedMs = Date.now();
    const result = await runHourly(stack);
    const tookMs = Date.now() - startedMs;

    expect(result).toEqual({ sent: 1_000, rejected: 0, deferred: 0, waiting: 0, nearWindowEnd: 0 });
    // The rate limiter kept every call under the quota: not one throttled.
    expect(batchCalls(stack)).toBe(40);
    expect(stack.sim.aws.refusedCalls()).toEqual([]);
    // A burst of 10, then 10 a second: the 40th call cannot leave before 3 s.
    expect(tookMs).toBeGreaterThanOrEqual(2_900);
    expectBilledOnce(stack, buyers, keys);
    await expectAllSent(stack, buyers, keys);
    // A thousand rows written and read one at a time on a shared DynamoDB Local.
  }, 120_000);

  it('retries throttled calls with backoff; every hour is billed once, deferred ones next run', async () => {
    const stack = await start({ env: { METERING_RATE_PER_SECOND: '10' } });
    const buyers = [await subscribe(stack), await subscribe(stack)];
    const keys = keysFor(buyers, 50);
    await recordUsage(stack, keys);
    // AWS's quota far below our own pace (10 a second): a call sent within two seconds of the
    // one before is throttled, however long the ledger writes between them take on a busy machine.
    stack.sim.aws.configure({ requestsPerSecond: 0.5 });

    let sent = 0;
    for (let run = 1; run <= 8; run += 1) {
      const result = await runHourly(stack);
      sent += result.sent;
      expect(result.rejected).toBe(0);
      const sealed = (await Promise.all(keys.map((key) => usageHour(stack, key)))).filter(
        (row) => row?.state === 'sealed',
      );
      // What the run could not send is reported and left sealed for the next run.
      expect(sealed).toHaveLength(result.deferred);
      if (result.deferred === 0) break;
    }

    const throttled = stack.sim.aws
      .refusedCalls()
      .filter((call) => call.errorType === 'ThrottlingException');
    expect(throttled.length).toBeGreaterThan(0);
    expect(stack.sim.aws.refusedCalls()).toHaveLength(throttled.length);
    expect(sent).toBe(50);
    expectBilledOnce(stack, buyers, keys);
    await expectAllSent(stack, buyers, keys);
  });

  it('sends unprocessed records again until AWS takes them, billed once', async () => {
    const stack = await start();
    const buyers = [await subscribe(stack), await subscribe(stack)];
    const keys = keysFor(buyers, 60);
    await recordUsage(stack, keys);
    stack.sim.setFaults({ unprocessedRate: 0.3, scope: 'aws' });

    const first = await runHourly(stack);
    const unprocessed = stack.sim.aws
      .refusedRecords()
      .filter((record) => record.status === 'Unprocessed');
    expect(unprocessed.length).toBeGreaterThan(first.deferred);
    expect(first.sent + first.deferred).toBe(60);

    stack.sim.resetFaults();
    const second = await runHourly(stack);
    expect(second).toMatchObject({ sent: first.deferred, deferred: 0, rejected: 0 });
    expectBilledOnce(stack, buyers, keys);
    await expectAllSent(stack, buyers, keys);
    // Every record once answered as unprocessed was billed in the end.
    const billed = new Set(stack.sim.aws.meteringRecords().map(billedKey));
    for (const record of unprocessed) {
      const usage = record.usageRecord;
      expect(billed.has(`${usage.LicenseArn}|${usage.Dimension}|${usage.Timestamp * 1000}`)).toBe(
        true,
      );
    }
  });

  it('isolates a record out of the window among 24 good ones and tells the vendor', async () => {
    const stack = await start();
    const buyer = await subscribe(stack);
    const good = keysFor([buyer], 24, 8);
    await recordUsage(stack, good);
    // 30 hours old: AWS refuses the whole call that carries it.
    const poisoned = usageKey(buyer, 'requests', hourAgo(30));
    await addUsage(stack, poisoned, 9);

    const result = await runHourly(stack);
    const again = await runHourly(stack);

    expect(result).toMatchObject({ sent: 24, rejected: 1, deferred: 0 });
    expectBilledOnce(stack, [buyer], good);
    await expectAllSent(stack, [buyer], good);
    const refused = stack.sim.aws.refusedCalls();
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((call) => call.errorType === 'TimestampOutOfBoundsException')).toBe(true);
    expect(await usageHour(stack, poisoned)).toMatchObject({
      state: 'rejected',
      quantity: 9,
      answer: {
        status: 'Rejected',
        meteringRecordId: null,
        reason: expect.stringContaining('TimestampOutOfBoundsException'),
      },
    });
    const told = await vendorMessages(stack, VendorEventType.usageRejected);
    expect(told).toEqual([
      expect.objectContaining({
        cloud: 'aws',
        entitlementId: buyer.entitlementId,
        data: expect.objectContaining({
          dimension: 'requests',
          hourStartEpochMs: poisoned.hourStartEpochMs,
          quantity: 9,
          reason: expect.stringContaining('TimestampOutOfBoundsException'),
        }),
      }),
    ]);
    // Rejected is final: the next run does not try it again.
    expect(again).toMatchObject({ sent: 0, rejected: 0, deferred: 0 });
    expect(stack.sim.aws.refusedCalls()).toHaveLength(refused.length);
  });

  it('re-sends hours a crashed run sent but did not record: same quantity, billed once', async () => {
    const stack = await start();
    const env = { ...process.env };
    const buyer = await subscribe(stack);
    const keys = keysFor([buyer], 3, 1);
    await recordUsage(stack, keys);

    // The run that crashes: AWS billed the call, then the process died before the second mark.
    const config = loadAwsMeteringConfig(env);
    let marks = 0;
    const crashing: Store = {
      ...stack.store,
      markUsageHour: async (...args) => {
        marks += 1;
        if (marks >= 2) throw new Error('the Lambda was killed');
        return stack.store.markUsageHour(...args);
      },
    };
    await expect(
      meterUsageToAws({
        store: crashing,
        meter: createAwsUsageMeter({
          client: createMeteringClient(config.marketplace, { maxAttempts: 1 }),
          productCode: config.marketplace.productCode,
        }),
        limiter: createRateLimiter({ ratePerSecond: 10, clock: { now: Date.now } }),
        clock: { now: Date.now },
        logger: silent,
        eventTtlSeconds: 3_600,
        zeroDimensions: [],
        windowHours: 24,
      }),
    ).rejects.toThrow('the Lambda was killed');
    const firstBilling = billedFor(stack, buyer);
    expect(firstBilling).toHaveLength(3);
    const states = await Promise.all(keys.map((key) => usageHour(stack, key)));
    expect(states.map((row) => row?.state).sort()).toEqual(['sealed', 'sealed', 'sent']);
    // Late usage cannot change a sealed hour: the re-send carries what AWS billed.
    const sealedKey = keys[states.findIndex((row) => row?.state === 'sealed')]!;
    await expect(addUsage(stack, sealedKey, 1_000)).rejects.toBeInstanceOf(UsageHourSealedError);

    const result = await runHourly(stack);

    expect(result).toMatchObject({ sent: 2, rejected: 0, deferred: 0 });
    expect(batchCalls(stack)).toBe(2);
    // AWS answered the same record again with the first MeteringRecordId and billed nothing more.
    expect(billedFor(stack, buyer)).toEqual(firstBilling);
    expect(stack.sim.aws.refusedRecords()).toEqual([]);
    expectBilledOnce(stack, [buyer], keys);
    await expectAllSent(stack, [buyer], keys);
  });

  it('meters a leaving buyer at once, its open hour included, and no one else', async () => {
    const stack = await start();
    const snsLeaving = await subscribe(stack, { style: 'sns' });
    const ebLeaving = await subscribe(stack);
    const staying = await subscribe(stack);
    const snsOpen = usageKey(snsLeaving, 'requests', hourAgo(0));
    const snsClosed = usageKey(snsLeaving, 'users', hourAgo(1));
    const ebOpen = usageKey(ebLeaving, 'gigabytes', hourAgo(0));
    const others = usageKey(staying, 'requests', hourAgo(1));
    await addUsage(stack, snsOpen, 11);
    await addUsage(stack, snsClosed, 4);
    await addUsage(stack, ebOpen, 3);
    await addUsage(stack, others, 6);

    // SNS: unsubscribe-pending. About an hour remains for the final records.
    await stack.sim.aws.act(snsLeaving.answer.licenseArn, 'unsubscribe');

    expect(await entitlementOf(stack, snsLeaving)).toMatchObject({
      status: 'pending_cancellation',
    });
    expect(
      billedFor(stack, snsLeaving).map((r) => [r.dimension, Date.parse(r.hourStart), r.quantity]),
    ).toEqual(
      expect.arrayContaining([
        ['requests', snsOpen.hourStartEpochMs, 11],
        ['users', snsClosed.hourStartEpochMs, 4],
      ]),
    );
    expect(billedFor(stack, snsLeaving)).toHaveLength(2);
    expect(billedFor(stack, snsLeaving)[0]).toMatchObject({
      customerIdentifier: snsLeaving.answer.customerIdentifier,
    });
    expect(await usageHour(stack, snsOpen)).toMatchObject({ state: 'sent', quantity: 11 });
    // The flush is the leaving buyer's alone: the others wait for the hourly run.
    expect(billedFor(stack, ebLeaving)).toEqual([]);
    expect(billedFor(stack, staying)).toEqual([]);
    expect(await usageHour(stack, others)).toMatchObject({ state: 'open' });

    // EventBridge: Purchase Agreement Ended names no license; License Deprovisioned does.
    await stack.sim.aws.act(ebLeaving.answer.licenseArn, 'unsubscribe');
    await stack.sim.aws.act(ebLeaving.answer.licenseArn, 'unsubscribe-complete');

    expect(await entitlementOf(stack, ebLeaving)).toMatchObject({ status: 'cancelled' });
    expect(billedFor(stack, ebLeaving)).toEqual([
      expect.objectContaining({
        licenseArn: ebLeaving.answer.licenseArn,
        dimension: 'gigabytes',
        hourStart: new Date(ebOpen.hourStartEpochMs).toISOString(),
        quantity: 3,
      }),
    ]);
    expect(await usageHour(stack, ebOpen)).toMatchObject({ state: 'sent' });
    expect(billedFor(stack, staying)).toEqual([]);
    expect(batchCalls(stack)).toBe(2);

    const hourly = await runHourly(stack);
    expect(hourly).toMatchObject({ sent: 1, rejected: 0, deferred: 0 });
    expect(billedFor(stack, staying)).toEqual([expect.objectContaining({ quantity: 6 })]);
    expect(billedFor(stack, snsLeaving)).toHaveLength(2);
    expect(billedFor(stack, ebLeaving)).toHaveLength(1);
  });

  it('meters a free trial as any subscription: AWS does not bill it, but wants the records', async () => {
    const stack = await start();
    const buyer = await subscribe(stack, { style: 'sns', freeTrial: true });
    expect(await entitlementOf(stack, buyer)).toMatchObject({ status: 'active', freeTrial: true });
    const key = usageKey(buyer, 'requests', hourAgo(2));
    await addUsage(stack, key, 17);

    const result = await runHourly(stack);

    expect(result).toMatchObject({ sent: 1, rejected: 0 });
    expect(billedFor(stack, buyer)).toEqual([
      expect.objectContaining({
        customerIdentifier: buyer.answer.customerIdentifier,
        dimension: 'requests',
        quantity: 17,
      }),
    ]);
    expect(await usageHour(stack, key)).toMatchObject({ state: 'sent' });
  });

  describe('zero records', () => {
    /**
     * The buyer's entitlement as the notifications function would have stored it `hours` ago:
     * the function reads the real clock, and zeros are only for hours since the entitlement.
     */
    const backdate = async (stack: AwsStack, buyer: Buyer, hours: number) => {
      const stored = (await entitlementOf(stack, buyer))!;
      await stack.store.putEntitlement(
        { ...stored, createdAtEpochMs: stored.createdAtEpochMs - hours * HOUR_MS },
        stored.version,
      );
      return buyer;
    };
    const subscribedHoursAgo = async (stack: AwsStack, hours: number) =>
      backdate(stack, await subscribe(stack), hours);

    it('gives a subscribed buyer a 0 for every dimension of each closed hour without usage', async () => {
      const stack = await start({ env: { METERING_ZERO_RECORDS: 'true' } });
      const idle = await subscribedHoursAgo(stack, 3);
      const busy = await subscribedHoursAgo(stack, 3);
      const fresh = await subscribe(stack);
      await addUsage(stack, usageKey(busy, 'users', hourAgo(1)), 5);

      const result = await runHourly(stack);
      const again = await runHourly(stack);

      // The hours it was subscribed in, closed: the last three.
      const hours = [hourAgo(3), hourAgo(2), hourAgo(1)];
      const expected = (buyer: Buyer) =>
        hours.flatMap((hour) =>
          DIMENSIONS.map((dimension) => `${buyer.billedAs}|${dimension}|${hour}`),
        );
      expect(result).toMatchObject({ sent: 18, rejected: 0 });
      expect(billedFor(stack, idle).map(billedKey).sort()).toEqual(expected(idle).sort());
      expect(billedFor(stack, idle).every((record) => record.quantity === 0)).toBe(true);
      expect(billedFor(stack, busy).map(billedKey).sort()).toEqual(expected(busy).sort());
      expect(
        billedFor(stack, busy)
          .filter((record) => record.quantity > 0)
          .map((record) => [record.dimension, Date.parse(record.hourStart), record.quantity]),
      ).toEqual([['users', hourAgo(1), 5]]);
      // Subscribed in the open hour: nothing closed yet.
      expect(billedFor(stack, fresh)).toEqual([]);
      expect(await usageHour(stack, usageKey(idle, 'gigabytes', hourAgo(2)))).toMatchObject({
        state: 'sent',
        quantity: 0,
      });
      // The zeros are added once: nothing more to send.
      expect(again).toMatchObject({ sent: 0 });
      expect(batchCalls(stack)).toBe(1);
    });

    it('gives no zeros to a purchase that failed before it was confirmed', async () => {
      const stack = await start({ env: { METERING_ZERO_RECORDS: 'true' } });
      const buyer = await subscribe(stack, { style: 'sns', pending: true });
      expect((await postRegistration(stack, buyer.answer.registrationToken)).status).toBe(303);
      await backdate(stack, buyer, 2);
      // Usage the vendor recorded while the subscription waited for its confirmation.
      const key = usageKey(buyer, 'requests', hourAgo(1));
      await addUsage(stack, key, 3);

      // subscribe-fail: the buyer leaves, so its hours are flushed at once.
      await stack.sim.aws.act(buyer.answer.licenseArn, 'fail');
      const hourly = await runHourly(stack);

      expect(await entitlementOf(stack, buyer)).toMatchObject({ status: 'cancelled' });
      // The vendor's own record goes, and AWS refuses it; nothing was invented around it.
      expect(await usageHour(stack, key)).toMatchObject({
        state: 'rejected',
        answer: { status: 'CustomerNotSubscribed' },
      });
      expect(stack.sim.aws.refusedRecords()).toHaveLength(1);
      expect(await usageHour(stack, usageKey(buyer, 'users', hourAgo(1)))).toBeNull();
      expect(await vendorMessages(stack, VendorEventType.usageRejected)).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ dimension: 'requests' }) }),
      ]);
      expect(hourly).toMatchObject({ sent: 0, rejected: 0 });
      expect(batchCalls(stack)).toBe(1);
    });

    it('sends no zeros when METERING_ZERO_RECORDS is false', async () => {
      const stack = await start({ env: { METERING_ZERO_RECORDS: 'false' } });
      const idle = await subscribedHoursAgo(stack, 3);

      const result = await runHourly(stack);

      expect(result).toMatchObject({ sent: 0 });
      expect(batchCalls(stack)).toBe(0);
      expect(await usageHour(stack, usageKey(idle, 'requests', hourAgo(1)))).toBeNull();
    });
  });

  it('sends nothing before the subscription is confirmed, and everything after', async () => {
    const stack = await start();
    const buyer = await subscribe(stack, { pending: true });
    const signup = await postRegistration(stack, buyer.answer.registrationToken);
    expect(signup.status).toBe(303);
    expect(await entitlementOf(stack, buyer)).toMatchObject({ status: 'pending_approval' });
    const key = usageKey(buyer, 'requests', hourAgo(1));
    await addUsage(stack, key, 8);

    const before = await runHourly(stack);

    expect(before).toMatchObject({ sent: 0, waiting: 1 });
    expect(batchCalls(stack)).toBe(0);
    expect(await usageHour(stack, key)).toMatchObject({ state: 'open', quantity: 8 });

    await stack.sim.aws.act(buyer.answer.licenseArn, 'confirm');
    expect(await entitlementOf(stack, buyer)).toMatchObject({ status: 'active' });
    const after = await runHourly(stack);

    expect(after).toMatchObject({ sent: 1, waiting: 0 });
    expect(billedFor(stack, buyer)).toEqual([expect.objectContaining({ quantity: 8 })]);
    expect(await usageHour(stack, key)).toMatchObject({ state: 'sent' });
  });

  it('rejects usage AWS answers CustomerNotSubscribed for, and tells the vendor', async () => {
    let skewMs = 0;
    const stack = await start({ now: () => Date.now() + skewMs });
    const failed = await subscribe(stack);
    const ended = await subscribe(stack);
    // Payment failed: the subscription ends as a whole.
    await stack.sim.aws.act(failed.answer.licenseArn, 'fail');
    await stack.sim.aws.act(ended.answer.licenseArn, 'unsubscribe');
    await stack.sim.aws.act(ended.answer.licenseArn, 'unsubscribe-complete');
    expect(await entitlementOf(stack, failed)).toMatchObject({ status: 'cancelled' });
    expect(await entitlementOf(stack, ended)).toMatchObject({ status: 'cancelled' });
    // Two hours later at AWS: the hour of grace for final records is over.
    skewMs = 2 * HOUR_MS;
    const failedKey = usageKey(failed, 'requests', hourAgo(1));
    const endedKey = usageKey(ended, 'users', hourAgo(1));
    await addUsage(stack, failedKey, 2);
    await addUsage(stack, endedKey, 4);

    const result = await runHourly(stack);
    const again = await runHourly(stack);

    expect(result).toMatchObject({ sent: 0, rejected: 2, deferred: 0 });
    expect(stack.sim.aws.refusedRecords().map((r) => [r.usageRecord.LicenseArn, r.status])).toEqual(
      expect.arrayContaining([
        [failed.answer.licenseArn, 'CustomerNotSubscribed'],
        [ended.answer.licenseArn, 'CustomerNotSubscribed'],
      ]),
    );
    const told = await vendorMessages(stack, VendorEventType.usageRejected);
    expect(told).toHaveLength(2);
    for (const [buyer, key] of [
      [failed, failedKey],
      [ended, endedKey],
    ] as const) {
      expect(billedFor(stack, buyer)).toEqual([]);
      expect(await usageHour(stack, key)).toMatchObject({
        state: 'rejected',
        answer: {
          status: 'CustomerNotSubscribed',
          meteringRecordId: null,
          reason: expect.stringContaining('CustomerNotSubscribed'),
        },
      });
      expect(told).toContainEqual(
        expect.objectContaining({
          entitlementId: buyer.entitlementId,
          data: expect.objectContaining({
            dimension: key.dimension,
            hourStartEpochMs: key.hourStartEpochMs,
            reason: expect.stringContaining('CustomerNotSubscribed'),
          }),
        }),
      );
    }
    // Rejected is final: not sent again.
    expect(again).toMatchObject({ sent: 0, rejected: 0 });
    expect(batchCalls(stack)).toBe(1);
  });

  it('--dry-run prints what the next run would send, and seals and sends nothing', async () => {
    const stack = await start();
    const env = { ...process.env };
    const buyer = await subscribe(stack);
    const waiting = await subscribe(stack, { pending: true });
    expect((await postRegistration(stack, waiting.answer.registrationToken)).status).toBe(303);
    const keys = [usageKey(buyer, 'requests', hourAgo(2)), usageKey(buyer, 'users', hourAgo(1))];
    await addUsage(stack, keys[0]!, 12);
    await addUsage(stack, keys[1]!, 1);
    await addUsage(stack, usageKey(waiting, 'requests', hourAgo(1)), 5);

    const output = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn('npx', ['tsx', 'functions/aws/metering.ts', '--dry-run'], {
          cwd: `${__dirname}/..`,
          env,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      },
    );

    expect({ code: output.code, stderr: output.code === 0 ? '' : output.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    const printed = JSON.parse(output.stdout) as {
      dryRun: boolean;
      records: unknown[];
      waiting: number;
      nearWindowEnd: number;
    };
    expect(printed).toEqual({
      dryRun: true,
      records: [
        {
          licenseArn: buyer.answer.licenseArn,
          customerAWSAccountId: buyer.answer.customerAWSAccountId,
          dimension: 'requests',
          timestamp: new Date(keys[0]!.hourStartEpochMs).toISOString(),
          quantity: 12,
        },
        {
          licenseArn: buyer.answer.licenseArn,
          customerAWSAccountId: buyer.answer.customerAWSAccountId,
          dimension: 'users',
          timestamp: new Date(keys[1]!.hourStartEpochMs).toISOString(),
          quantity: 1,
        },
      ],
      waiting: 1,
      nearWindowEnd: 0,
    });
    expect(batchCalls(stack)).toBe(0);
    expect(stack.sim.aws.meteringRecords()).toEqual([]);
    for (const key of keys) {
      expect(await usageHour(stack, key)).toMatchObject({ state: 'open', sealedAtEpochMs: null });
    }
  });

  it('counts unsent hours about to leave the 24-hour window in nearWindowEnd', async () => {
    const stack = await start();
    const buyer = await subscribe(stack);
    // Started 23 hours before the open hour: within two hours of the window's end.
    const late = usageKey(buyer, 'requests', hourAgo(23));
    const inTime = usageKey(buyer, 'requests', hourAgo(21));
    await addUsage(stack, late, 6);
    await addUsage(stack, inTime, 7);

    const result = await runHourly(stack);

    expect(result).toMatchObject({ sent: 2, rejected: 0, nearWindowEnd: 1 });
    expect(billedFor(stack, buyer)).toHaveLength(2);
    expect(await usageHour(stack, late)).toMatchObject({ state: 'sent' });
  });
});
