import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import {
  createDynamoDbDocumentClient,
  createDynamoDbStore,
  createTable,
} from '../shared/adapters/dynamodb';
import { createAwsUsageMeter } from '../shared/adapters/aws/aws-usage-meter';
import { createJsonLogger } from '../shared/adapters/logging/json-logger';
import { MAX_RECORDS_PER_CALL, meterUsageToAws } from '../shared/app/meter-usage-to-aws';
import type { MeterUsageDeps } from '../shared/app/meter-usage-to-aws';
import { createRateLimiter } from '../shared/app/rate-limiter';
import type { RateLimiter } from '../shared/app/rate-limiter';
import { newEntitlement } from '../shared/domain/entitlement';
import { HOUR_MS, lastClosedHourStartEpochMs } from '../shared/domain/time';
import type { Store } from '../shared/ports/store';
import type { UsageMeter } from '../shared/ports/usage-meter';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local';
import { meteringClient } from '../sim/aws/testing/sdk-clients';
import { createSimulator } from '../sim/server';
import { forEachInParallel } from './parallel';

/**
 * bench/aws-metering: one hourly metering run over 10,000 pending usage hours, through the real
 * AWS SDK client to the simulator with its default quota (10 BatchMeterUsage calls a second),
 * on DynamoDB Local. The goal is the quota's own floor: ceil(rows / 25) calls, no more (a
 * throttled call is one more), within 10 % of `calls / 10` seconds, every row billed once.
 */

/** AWS's BatchMeterUsage quota per account and region, which the simulator enforces too. */
const QUOTA_PER_SECOND = 10;
const WINDOW_HOURS = 24;
const SETUP_CONCURRENCY = 16;

const seconds = (ms: number): number => Number((ms / 1_000).toFixed(2));
const elapsedMs = (startedNs: bigint): number => Number(process.hrtime.bigint() - startedNs) / 1e6;

/** Time spent in the two store writes the run makes per row, which it makes one at a time. */
const timeUsageWrites = (store: Store) => {
  const spent = { sealCalls: 0, sealMs: 0, markCalls: 0, markMs: 0 };
  const timed: Store = {
    ...store,
    sealUsageHour: async (key, nowEpochMs) => {
      const started = process.hrtime.bigint();
      try {
        return await store.sealUsageHour(key, nowEpochMs);
      } finally {
        spent.sealCalls += 1;
        spent.sealMs += elapsedMs(started);
      }
    },
    markUsageHour: async (key, state, answer, news) => {
      const started = process.hrtime.bigint();
      try {
        return await store.markUsageHour(key, state, answer, news);
      } finally {
        spent.markCalls += 1;
        spent.markMs += elapsedMs(started);
      }
    },
  };
  return { store: timed, spent };
};

/** When each call went out and how long it took, to see what paces the run. */
const timeMeterCalls = (meter: UsageMeter) => {
  const calls: Array<{ startedMs: number; tookMs: number; failed: boolean }> = [];
  const timed: UsageMeter = {
    meter: async (records) => {
      const startedMs = performance.now();
      let failed = true;
      try {
        const answer = await meter.meter(records);
        failed = false;
        return answer;
      } finally {
        calls.push({ startedMs, tookMs: performance.now() - startedMs, failed });
      }
    },
  };
  return { meter: timed, calls };
};

const timeLimiterWaits = (limiter: RateLimiter) => {
  const spent = { waitMs: 0 };
  const timed: RateLimiter = {
    acquire: async () => {
      const started = process.hrtime.bigint();
      await limiter.acquire();
      spent.waitMs += elapsedMs(started);
    },
  };
  return { limiter: timed, spent };
};

const medianOf = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const usageKey = (licenseArn: string, dimension: string, hourStartEpochMs: number) =>
  `${licenseArn}|${dimension}|${hourStartEpochMs}`;

export const benchAwsMetering = async (
  options: {
    licenses?: number;
    hours?: number;
    dimensions?: readonly string[];
    /** The rate limiter's bucket; 1 unless given, as the AWS functions configure it. */
    limiterBurst?: number;
  } = {},
) => {
  const licenses = options.licenses ?? 500;
  const hours = options.hours ?? 10;
  // Dimensions the simulator's default product lists; distinct rows per (license, hour).
  const dimensions = options.dimensions ?? ['requests', 'users'];
  // Within AWS's 24 h window with room to spare: the oldest hour is `hours` + 1 h old at most.
  if (hours > WINDOW_HOURS - 4) throw new Error(`hours must stay well inside ${WINDOW_HOURS} h`);

  const setupStarted = process.hrtime.bigint();
  const dynamo = await startDynamoDbLocal();
  const sim = await createSimulator().catch(async (error: unknown) => {
    await dynamo.stop();
    throw error;
  });
  const client = createDynamoDbDocumentClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
  const metering = meteringClient(sim.url, { maxAttempts: 1 });
  try {
    const tableName = `bench-metering-${randomUUID()}`;
    await createTable(client, tableName);
    const baseStore = createDynamoDbStore(client, { tableName });
    const [product] = sim.aws.products();
    if (!product) throw new Error('the simulator lists no AWS product');

    const setupMs: Record<string, number> = {};
    let phaseStarted = setupStarted;
    const phaseDone = (name: string) => {
      setupMs[name] = elapsedMs(phaseStarted);
      phaseStarted = process.hrtime.bigint();
    };
    phaseDone('engines');
    // New-style (EventBridge) licenses: records name the license and the buyer's account.
    const subscribed: Array<{ licenseArn: string; accountId: string }> = [];
    for (let i = 0; i < licenses; i += 1) {
      const answer = await sim.aws.subscribe({ productCode: product.code, style: 'eventbridge' });
      subscribed.push({ licenseArn: answer.licenseArn, accountId: answer.customerAWSAccountId });
    }
    phaseDone('subscribe');
    const now = Date.now();
    await forEachInParallel(subscribed, SETUP_CONCURRENCY, ({ licenseArn, accountId }) =>
      baseStore.putEntitlement(
        newEntitlement(
          { cloud: 'aws', id: licenseArn },
          { accountId, productId: product.code, status: 'active' },
          now - (hours + 2) * HOUR_MS,
        ),
        0,
      ),
    );
    phaseDone('putEntitlement');

    // From 06:00 UTC on the 1st AWS refuses last month's hours: run in the `hours` after that,
    // the oldest rows show as rejected (not as lost).
    const lastClosed = lastClosedHourStartEpochMs(now);
    const rows = subscribed.flatMap(({ licenseArn }) =>
      dimensions.flatMap((dimension) =>
        Array.from({ length: hours }, (_, back) => ({
          licenseArn,
          dimension,
          hourStartEpochMs: lastClosed - back * HOUR_MS,
        })),
      ),
    );
    const quantities = new Map<string, number>();
    await forEachInParallel(rows, SETUP_CONCURRENCY, async (row, index) => {
      const quantity = (index % 97) + 1;
      quantities.set(usageKey(row.licenseArn, row.dimension, row.hourStartEpochMs), quantity);
      await baseStore.addUsage({
        cloud: 'aws',
        entitlementId: row.licenseArn,
        dimension: row.dimension,
        hourStartEpochMs: row.hourStartEpochMs,
        records: [{ usageId: randomUUID(), quantity }],
        dedupeExpiresAtEpochSeconds: Math.floor(now / 1_000) + 3_600,
        nowEpochMs: now,
      });
    });
    phaseDone('addUsage');
    const setupTotalMs = elapsedMs(setupStarted);

    const writes = timeUsageWrites(baseStore);
    const meterCalls = timeMeterCalls(
      createAwsUsageMeter({ client: metering, productCode: product.code }),
    );
    const clock = { now: () => Date.now() };
    const limiter = timeLimiterWaits(
      createRateLimiter({
        ratePerSecond: QUOTA_PER_SECOND,
        clock,
        burst: options.limiterBurst ?? 1,
      }),
    );
    const deps: MeterUsageDeps = {
      store: writes.store,
      meter: meterCalls.meter,
      limiter: limiter.limiter,
      clock,
      logger: createJsonLogger({ level: 'error', write: () => undefined }),
      eventTtlSeconds: 3_600,
      zeroDimensions: [],
      windowHours: WINDOW_HOURS,
    };

    const batchCalls = () => sim.aws.calls().BatchMeterUsage ?? 0;
    const throttledCalls = () =>
      sim.aws.refusedCalls().filter((call) => call.errorType === 'ThrottlingException').length;
    const callsBefore = batchCalls();
    const throttledBefore = throttledCalls();
    const runStarted = process.hrtime.bigint();
    const runStartedMs = performance.now();
    const result = await meterUsageToAws(deps);
    const wallMs = elapsedMs(runStarted);
    const calls = batchCalls() - callsBefore;
    const throttled = throttledCalls() - throttledBefore;

    const callsBeforeSecondRun = batchCalls();
    const second = await meterUsageToAws(deps);
    const secondRunCalls = batchCalls() - callsBeforeSecondRun;

    const billedByKey = new Map<string, number[]>();
    for (const record of sim.aws.meteringRecords()) {
      const key = usageKey(record.licenseArn ?? '', record.dimension, Date.parse(record.hourStart));
      billedByKey.set(key, [...(billedByKey.get(key) ?? []), record.quantity]);
    }
    let lost = 0;
    let quantityMismatches = 0;
    for (const [key, quantity] of quantities) {
      const billed = billedByKey.get(key);
      if (!billed) lost += 1;
      else if (billed.some((q) => q !== quantity)) quantityMismatches += 1;
    }
    const billedRecords = [...billedByKey.values()].reduce((n, q) => n + q.length, 0);
    const duplicatesBilled = [...billedByKey.values()].reduce((n, q) => n + q.length - 1, 0);

    const expectedCalls = Math.ceil(rows.length / MAX_RECORDS_PER_CALL);
    const goalSeconds = (1.1 * expectedCalls) / QUOTA_PER_SECOND;
    const sent = meterCalls.calls;
    const firstCallMs = sent[0]?.startedMs ?? runStartedMs;
    const lastCall = sent.at(-1);
    const sendingMs = lastCall ? lastCall.startedMs + lastCall.tookMs - firstCallMs : 0;
    return {
      bench: 'aws-metering',
      goal: 'ceil(rows / 25) BatchMeterUsage calls at 10 a second, each row billed exactly once',
      rows: rows.length,
      shape: { licenses, hours, dimensions: dimensions.length },
      // DynamoDB Local and this process share the CPUs: a busy machine slows the store writes.
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      limiter: {
        ratePerSecond: QUOTA_PER_SECOND,
        burst: options.limiterBurst ?? 1,
      },
      calls,
      expectedCalls,
      callsOk: calls === expectedCalls,
      wallSeconds: seconds(wallMs),
      goalSeconds: Number(goalSeconds.toFixed(2)),
      withinGoal: wallMs / 1_000 <= goalSeconds,
      sent: result.sent,
      rejected: result.rejected,
      deferred: result.deferred,
      waiting: result.waiting,
      billedRecords,
      duplicatesBilled,
      lost,
      quantityMismatches,
      throttled,
      failedCalls: sent.filter((call) => call.failed).length,
      secondRunCalls,
      secondRunSent: second.sent,
      // Where the run's time went: the store writes are made one row at a time.
      breakdown: {
        setupSeconds: seconds(setupTotalMs),
        setupPhasesSeconds: Object.fromEntries(
          Object.entries(setupMs).map(([phase, ms]) => [phase, seconds(ms)]),
        ),
        beforeFirstCallSeconds: seconds(firstCallMs - runStartedMs),
        sendingSeconds: seconds(sendingMs),
        callsPerSecondWhileSending: Number(
          (sent.length / Math.max(sendingMs / 1_000, 0.001)).toFixed(2),
        ),
        sealUsageHour: {
          calls: writes.spent.sealCalls,
          seconds: seconds(writes.spent.sealMs),
          msEach: Number((writes.spent.sealMs / Math.max(1, writes.spent.sealCalls)).toFixed(2)),
        },
        markUsageHour: {
          calls: writes.spent.markCalls,
          seconds: seconds(writes.spent.markMs),
          msEach: Number((writes.spent.markMs / Math.max(1, writes.spent.markCalls)).toFixed(2)),
        },
        batchMeterUsageSeconds: seconds(sent.reduce((ms, call) => ms + call.tookMs, 0)),
        // The first call pays for the connection and the SDK's lazy set-up: see the finding on
        // throttling in the report.
        firstCallMs: Number((sent[0]?.tookMs ?? 0).toFixed(1)),
        medianCallMs: Number(medianOf(sent.map((call) => call.tookMs)).toFixed(1)),
        failedCallIndexes: sent.flatMap((call, index) => (call.failed ? [index] : [])),
        limiterWaitSeconds: seconds(limiter.spent.waitMs),
      },
    };
  } finally {
    metering.destroy();
    client.destroy();
    await sim.stop();
    await dynamo.stop();
  }
};
