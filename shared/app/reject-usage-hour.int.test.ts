import { randomUUID } from 'node:crypto';
import { createServiceControlClient } from '../adapters/gcp/service-control-client';
import { createJsonLogger } from '../adapters/logging/json-logger';
import { newEntitlement } from '../domain/entitlement';
import { StoreUnavailableError } from '../domain/errors';
import type { Cloud, UsageHourKey } from '../domain/model';
import { HOUR_MS, lastClosedHourStartEpochMs } from '../domain/time';
import type { Store } from '../ports/store';
import type { StoreUnderTest } from '../test/store-contract';
import type { Simulator } from '../../sim/server';
import { STORES_UNDER_TEST } from '../../test/support/stores';
import { meterUsageToAws } from './meter-usage-to-aws';
import {
  METERED_PRODUCT as PRODUCT,
  simulatedMeteringDeps,
  startUnpacedSimulator,
} from '../../test/support/simulated-metering';
import { reportUsageToServiceControl } from './report-usage-to-service-control';

const silent = createJsonLogger({ level: 'error', write: () => undefined });

/**
 * The process dies the moment a rejected hour is recorded: the write commits, nothing after it
 * runs. Whatever that write holds is all the next run finds.
 */
const dyingAfterRejection = (store: Store): Store => ({
  ...store,
  markUsageHour: async (key, state, answer, news) => {
    const hour = await store.markUsageHour(key, state, answer, news);
    if (state === 'rejected') throw new StoreUnavailableError('the process died');
    return hour;
  },
});

describe.each(STORES_UNDER_TEST)('a usage hour refused, on %s', (_name, open) => {
  let sim: Simulator;
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    sim = await startUnpacedSimulator();
    subject = await open();
    store = subject.store;
  });
  afterAll(async () => {
    await subject?.teardown();
    await sim?.stop();
  });

  const addUsage = (key: UsageHourKey, quantity: number) =>
    store.addUsage({
      ...key,
      records: [{ usageId: randomUUID(), quantity }],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });

  /** The `usage.*` events the outbox holds for one purchase. */
  const usageEvents = async (cloud: Cloud, entitlementId: string) => {
    const { items } = await store.listOutbox(
      { by: 'time', fromEpochMs: 0, toEpochMs: Date.now() + HOUR_MS },
      { limit: 1_000 },
    );
    return items
      .filter((m) => m.cloud === cloud && m.entitlementId === entitlementId)
      .map((m) => m.type);
  };

  it('keeps the AWS usage.rejected through a crash right after the hour is recorded', async () => {
    const answer = await sim.aws.subscribe({ productCode: PRODUCT });
    const licenseArn = answer.licenseArn!;
    await store.putEntitlement(
      newEntitlement(
        { cloud: 'aws', id: licenseArn },
        { accountId: answer.customerAWSAccountId, productId: PRODUCT, status: 'active' },
        Date.now() - 40 * HOUR_MS,
      ),
      0,
    );
    const key = {
      cloud: 'aws' as const,
      entitlementId: licenseArn,
      dimension: 'requests',
      // Inside our window, outside AWS's 24 hours: TimestampOutOfBoundsException.
      hourStartEpochMs: lastClosedHourStartEpochMs(Date.now()) - 29 * HOUR_MS,
    };
    await addUsage(key, 9);
    const deps = (s: Store) => simulatedMeteringDeps(sim, s, { windowHours: 48 });

    await expect(meterUsageToAws(deps(dyingAfterRejection(store)))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await meterUsageToAws(deps(store));

    expect(await store.getUsageHour(key)).toMatchObject({
      state: 'rejected',
      answer: { reason: expect.stringContaining('TimestampOutOfBoundsException') },
    });
    expect(await usageEvents('aws', licenseArn)).toEqual(['usage.rejected']);
  });

  it('keeps the Google usage.rejected through a crash right after the hour is recorded', async () => {
    const entitlementId = `ent-${randomUUID()}`;
    await store.putEntitlement(
      newEntitlement(
        { cloud: 'gcp', id: entitlementId },
        {
          accountId: `acct-${randomUUID()}`,
          productId: 'demo-product',
          status: 'active',
          plan: 'pro',
          usageReportingId: `project_number:${Date.now()}`,
        },
        Date.now() - 3 * HOUR_MS,
      ),
      0,
    );
    const key = {
      cloud: 'gcp' as const,
      entitlementId,
      dimension: 'storage',
      hourStartEpochMs: lastClosedHourStartEpochMs(Date.now()),
    };
    await addUsage(key, 4);
    const deps = (s: Store) => ({
      store: s,
      // Not called: no metric is configured for the dimension, so the hour is refused here.
      reporter: createServiceControlClient({ serviceName: 'demo.example.com', baseUrl: sim.url }),
      clock: { now: Date.now },
      logger: silent,
      metrics: { pro: {} },
      eventTtlSeconds: 3_600,
      backfillHours: 0,
    });

    await expect(
      reportUsageToServiceControl(deps(dyingAfterRejection(store))),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await reportUsageToServiceControl(deps(store));

    expect(await store.getUsageHour(key)).toMatchObject({
      state: 'rejected',
      answer: { reason: expect.stringContaining('no metric') },
    });
    expect(await usageEvents('gcp', entitlementId)).toEqual(['usage.rejected']);
  });
});
