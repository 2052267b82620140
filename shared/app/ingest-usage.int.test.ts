import { randomUUID } from 'node:crypto';
import { NotFoundError, StoreUnavailableError, ValidationError } from '../domain/errors';
import type { Entitlement, UsageHourKey } from '../domain/model';
import { MAX_USAGE_QUANTITY } from '../domain/limits';
import { HOUR_MS, hourStartEpochMs } from '../domain/time';
import { vendorIdOf } from '../domain/vendor-events';
import type { Store } from '../ports/store';
import { anEntitlement, T0 } from '../test/builders';
import type { StoreUnderTest } from '../test/store-contract';
import { STORES_UNDER_TEST } from '../../test/support/stores';
import { ingestUsage, listUsage, MAX_USAGE_RECORDS_PER_BATCH } from './ingest-usage';
import type { IngestUsageDeps, UsageRecordResult } from './ingest-usage';

/** 2026-11-22T10:15:00Z: the hour open now starts at 10:00. */
const NOW = T0;
const OPEN_HOUR = hourStartEpochMs(NOW);
const iso = (epochMs: number) => new Date(epochMs).toISOString();

const AWS_DIMENSIONS: ReadonlySet<string> = new Set(['requests', 'users']);
const GCP_DIMENSIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  pro: new Set(['requests']),
};

/** The store as the use case sees it, counting the calls that matter to the batch's cost. */
const counting = (store: Store) => {
  const calls = { addUsage: 0, getEntitlement: 0, listEntitlements: 0 };
  const counted: Store = {
    ...store,
    addUsage: (ingest) => {
      calls.addUsage += 1;
      return store.addUsage(ingest);
    },
    getEntitlement: (ref) => {
      calls.getEntitlement += 1;
      return store.getEntitlement(ref);
    },
    listEntitlements: (query, page) => {
      calls.listEntitlements += 1;
      return store.listEntitlements(query, page);
    },
  };
  return { store: counted, calls };
};

describe.each(STORES_UNDER_TEST)('usage ingest on %s', (_engine, makeStore) => {
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    subject = await makeStore();
    store = subject.store;
  });
  afterAll(async () => {
    await subject?.teardown();
  });

  const depsWith = (overrides: Partial<IngestUsageDeps> = {}): IngestUsageDeps => ({
    store,
    clock: { now: () => NOW },
    windowHours: 24,
    knownDimensions: (entitlement) =>
      entitlement.cloud === 'aws'
        ? AWS_DIMENSIONS
        : (GCP_DIMENSIONS[entitlement.plan ?? ''] ?? new Set()),
    dedupeTtlSeconds: 25 * 3_600,
    ...overrides,
  });

  const seeded = async (overrides: Partial<Entitlement> = {}): Promise<Entitlement> => {
    const cloud = overrides.cloud ?? 'aws';
    const entitlement = anEntitlement({
      cloud,
      id:
        cloud === 'aws'
          ? `arn:aws:license-manager::123456789012:license:l-${randomUUID()}`
          : `ent-${randomUUID()}`,
      accountId: cloud === 'aws' ? '123456789012' : `acct-${randomUUID()}`,
      ...overrides,
    });
    return store.putEntitlement(entitlement, 0);
  };

  const aRecord = (entitlement: Entitlement, overrides: Record<string, unknown> = {}) => ({
    usageId: `u-${randomUUID()}`,
    entitlementId: vendorIdOf(entitlement),
    dimension: 'requests',
    quantity: 1,
    timestamp: iso(NOW - HOUR_MS),
    ...overrides,
  });

  const hourOf = (
    entitlement: Entitlement,
    hourStart = OPEN_HOUR - HOUR_MS,
    dimension = 'requests',
  ): UsageHourKey => ({
    cloud: entitlement.cloud,
    entitlementId: entitlement.id,
    dimension,
    hourStartEpochMs: hourStart,
  });

  const statuses = (results: readonly UsageRecordResult[]) =>
    results.map((r) => (r.status === 'rejected' ? r.code : r.status));

  it('accepts the valid records of a mixed batch and rejects each of the others with a reason', async () => {
    const entitlement = await seeded();
    const suspended = await seeded({ status: 'suspended' });
    const gcp = await seeded({ cloud: 'gcp', plan: 'pro' });
    const lonelyTenant = `tenant-${randomUUID()}`;
    const busyTenant = `tenant-${randomUUID()}`;
    await seeded({ tenantId: busyTenant });
    await seeded({ tenantId: busyTenant });
    await seeded({ tenantId: lonelyTenant, status: 'cancelled' });
    const repeated = aRecord(entitlement, { quantity: 4 });

    const batch: unknown[] = [
      aRecord(entitlement, { quantity: 5 }),
      aRecord(entitlement, { quantity: -1 }),
      aRecord(entitlement, { quantity: 1.5 }),
      aRecord(entitlement, { usageId: 'has spaces' }),
      aRecord(entitlement, { tenantId: busyTenant }),
      aRecord(entitlement, { timestamp: 'yesterday' }),
      aRecord(entitlement, { color: 'blue' }),
      'not a record',
      aRecord(entitlement, { quantity: 3, allocations: [{ tags: { team: 'a' }, quantity: 2 }] }),
      aRecord(entitlement, {
        quantity: 2,
        allocations: [
          { tags: { team: 'a' }, quantity: 1 },
          { tags: { team: 'a' }, quantity: 1 },
        ],
      }),
      aRecord(entitlement, { allocations: [{ tags: { 'bad?key': 'a' }, quantity: 1 }] }),
      repeated,
      { ...repeated, quantity: 5 },
      aRecord(entitlement, { timestamp: iso(NOW - 24 * HOUR_MS) }),
      aRecord(entitlement, { timestamp: iso(NOW + 10 * 60 * 1_000) }),
      aRecord(entitlement, { entitlementId: `aws:arn:aws:license-manager::1:license:l-none` }),
      aRecord(entitlement, { entitlementId: 'azure:sub-1' }),
      aRecord(suspended),
      aRecord(gcp, { dimension: 'users' }),
      aRecord(entitlement, { dimension: 'storage' }),
      { ...aRecord(entitlement), entitlementId: undefined, tenantId: lonelyTenant },
      { ...aRecord(entitlement), entitlementId: undefined, tenantId: busyTenant },
      aRecord(gcp, { quantity: 7 }),
    ];
    const result = await ingestUsage(depsWith(), batch);

    expect(statuses(result.results)).toEqual([
      'accepted',
      'invalid_record',
      'invalid_record',
      'invalid_record',
      'invalid_record',
      'invalid_record',
      'invalid_record',
      'invalid_record',
      'invalid_allocations',
      'invalid_allocations',
      'invalid_allocations',
      'accepted',
      'conflicting_duplicate',
      'outside_window',
      'outside_window',
      'entitlement_not_found',
      'invalid_record',
      'entitlement_not_active',
      'unknown_dimension',
      'unknown_dimension',
      'no_active_entitlement',
      'ambiguous_tenant',
      'accepted',
    ]);
    expect(result).toMatchObject({ accepted: 3, duplicates: 0, rejected: 20 });
    // Each answer names its record and says why in a few words.
    expect(result.results[1]).toMatchObject({
      usageId: (batch[1] as { usageId: string }).usageId,
      path: 'quantity',
    });
    expect(result.results[3]).toMatchObject({ usageId: null, path: 'usageId' });
    expect(result.results[4]).toMatchObject({ path: 'tenantId' });
    expect(result.results[7]).toMatchObject({ usageId: null, path: '' });
    expect(result.results[8]).toMatchObject({ path: 'allocations' });
    expect(result.results[9]).toMatchObject({ path: 'allocations[1].tags' });
    expect(result.results[10]?.path).toBe('allocations[0].tags');
    for (const answer of result.results.filter((r) => r.status === 'rejected')) {
      expect(answer.message).toEqual(expect.any(String));
      expect(answer.message!.length).toBeLessThan(300);
    }
    expect(result.results[15]?.message).toMatch(/not found/);
    expect(result.results[16]?.message).toMatch(/vendor id/);
    expect(result.results[17]?.message).toMatch(/suspended/);

    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(9);
    expect((await store.getUsageHour(hourOf(gcp)))?.quantity).toBe(7);
    expect(await store.getUsageHour(hourOf(suspended))).toBeNull();
  });

  it('answers a retried batch with duplicates and counts nothing twice', async () => {
    const entitlement = await seeded();
    const batch = [
      aRecord(entitlement, { quantity: 2 }),
      aRecord(entitlement, { quantity: 3, dimension: 'users' }),
      aRecord(entitlement, {
        quantity: 5,
        allocations: [{ tags: { team: 'a' }, quantity: 4 }, { quantity: 1 }],
      }),
      aRecord(entitlement, { dimension: 'storage' }),
    ];
    const first = await ingestUsage(depsWith(), batch);
    // The allocations come in another order: the same record, the same parts.
    const retried: unknown[] = [...batch];
    retried[2] = {
      ...batch[2]!,
      allocations: [{ quantity: 1 }, { tags: { team: 'a' }, quantity: 4 }],
    };
    const again = await ingestUsage(depsWith(), retried);

    expect(statuses(first.results)).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'unknown_dimension',
    ]);
    expect(statuses(again.results)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'unknown_dimension',
    ]);
    expect(again).toMatchObject({ accepted: 0, duplicates: 3, rejected: 1 });
    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(7);
    expect((await store.getUsageHour(hourOf(entitlement, undefined, 'users')))?.quantity).toBe(3);
  });

  it('answers a retry duplicate before any other rule, whatever changed since it was counted', async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const entitlement = await seeded({ tenantId });
    const named = aRecord(entitlement, { quantity: 2, timestamp: iso(NOW - 20 * HOUR_MS) });
    const byTenant = {
      ...aRecord(entitlement, { quantity: 3 }),
      entitlementId: undefined,
      tenantId,
    };
    const tagged = aRecord(entitlement, {
      quantity: 5,
      dimension: 'users',
      allocations: [{ tags: { team: 'a' }, quantity: 4 }, { quantity: 1 }],
    });
    const batch = [named, byTenant, tagged];
    expect(statuses((await ingestUsage(depsWith(), batch)).results)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    // The buyer cancelled, the window shrank and the dimensions changed since.
    await store.putEntitlement(
      { ...entitlement, status: 'cancelled', endedAtEpochMs: NOW - 25 * HOUR_MS },
      entitlement.version,
    );
    const changed = depsWith({ windowHours: 6, knownDimensions: () => new Set(['storage']) });

    const again = await ingestUsage(changed, batch);

    expect(statuses(again.results)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(3);
    expect(
      (await store.getUsageHour(hourOf(entitlement, OPEN_HOUR - 20 * HOUR_MS)))?.quantity,
    ).toBe(2);
  });

  it('finishes a record an earlier try counted in part, where its first part went', async () => {
    const entitlement = await seeded();
    const record = aRecord(entitlement, {
      quantity: 5,
      allocations: [{ tags: { team: 'a' }, quantity: 4 }, { quantity: 1 }],
    });
    // The try that counted the untagged part failed before the tagged one; then the buyer's
    // purchase was suspended.
    await store.addUsage({
      ...hourOf(entitlement),
      records: [{ usageId: `${record.usageId}#untagged`, quantity: 1 }],
      dedupeExpiresAtEpochSeconds: Math.floor(NOW / 1_000) + 3_600,
      nowEpochMs: NOW,
    });
    await store.putEntitlement({ ...entitlement, status: 'suspended' }, entitlement.version);

    const result = await ingestUsage(depsWith(), [record]);

    expect(statuses(result.results)).toEqual(['accepted']);
    expect(await store.getUsageHour(hourOf(entitlement))).toMatchObject({
      quantity: 5,
      allocations: [
        { tags: { team: 'a' }, quantity: 4 },
        { tags: {}, quantity: 1 },
      ],
    });
  });

  it('rejects a usage id an earlier batch counted with other content, and counts nothing', async () => {
    const entitlement = await seeded();
    const other = await seeded();
    const record = aRecord(entitlement, { quantity: 5 });
    const tagged = aRecord(entitlement, {
      quantity: 5,
      allocations: [{ tags: { team: 'a' }, quantity: 4 }, { quantity: 1 }],
    });
    await ingestUsage(depsWith(), [record, tagged]);

    const result = await ingestUsage(depsWith(), [
      { ...record, quantity: 50 },
      { ...record, dimension: 'users' },
      { ...record, timestamp: iso(NOW - 3 * HOUR_MS) },
      { ...record, entitlementId: vendorIdOf(other) },
      { ...record, allocations: [{ tags: { team: 'a' }, quantity: 5 }] },
      { ...tagged, allocations: [{ tags: { team: 'a' }, quantity: 3 }, { quantity: 2 }] },
    ]);

    expect(statuses(result.results)).toEqual(Array<string>(6).fill('conflicting_duplicate'));
    expect(result.results[0]?.message).toMatch(/as 5 of "requests" in hour .* of aws:/);
    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(10);
    expect(await store.getUsageHour(hourOf(other))).toBeNull();
    expect(await store.getUsageHour(hourOf(entitlement, undefined, 'users'))).toBeNull();
  });

  it('takes the final usage of a purchase that ended, dated before its end, and nothing after', async () => {
    // Google bills the hours that began before the end, whenever they are reported.
    const gcp = await seeded({
      cloud: 'gcp',
      plan: 'pro',
      status: 'cancelled',
      endedAtEpochMs: NOW - 3 * HOUR_MS,
    });
    // AWS takes final records for about an hour after the end: the run at 11:05 sends them.
    const aws = await seeded({ status: 'deleted', endedAtEpochMs: NOW - 2 * 60_000 });
    const ended = await seeded({ status: 'cancelled', endedAtEpochMs: NOW - 30 * 60_000 });
    const live = await seeded({ status: 'suspended' });

    const result = await ingestUsage(depsWith(), [
      aRecord(gcp, { timestamp: iso(NOW - 4 * HOUR_MS) }),
      aRecord(gcp, { timestamp: iso(NOW - 3 * HOUR_MS + 1) }),
      aRecord(aws, { timestamp: iso(NOW - 10 * 60_000) }),
      aRecord(aws, { timestamp: iso(NOW - 60_000) }),
      aRecord(ended, { timestamp: iso(NOW - 40 * 60_000) }),
      aRecord(live, { timestamp: iso(NOW - 40 * 60_000) }),
    ]);
    // Later, the hour the AWS purchase's final usage would go to cannot reach AWS in time.
    const later = await ingestUsage(depsWith({ clock: { now: () => NOW + 50 * 60_000 } }), [
      aRecord(aws, { timestamp: iso(NOW - 10 * 60_000) }),
    ]);

    expect(statuses(result.results)).toEqual([
      'accepted',
      'entitlement_not_active',
      'accepted',
      'entitlement_not_active',
      'entitlement_not_active',
      'entitlement_not_active',
    ]);
    expect(result.results[1]?.message).toMatch(/ended at .*usage after its end is not billed/);
    expect(result.results[4]?.message).toMatch(/AWS takes its final usage only until/);
    expect(result.results[5]?.message).toMatch(/suspended/);
    expect(statuses(later.results)).toEqual(['entitlement_not_active']);
    expect((await store.getUsageHour(hourOf(gcp, OPEN_HOUR - 4 * HOUR_MS)))?.quantity).toBe(1);
    expect((await store.getUsageHour(hourOf(aws, OPEN_HOUR)))?.quantity).toBe(1);
  });

  it("refuses last month's AWS usage that AWS will refuse by the time its hour is sent", async () => {
    const aws = await seeded();
    const gcp = await seeded({ cloud: 'gcp', plan: 'pro' });
    const lastHourOfJanuary = '2027-01-31T23:10:00Z';
    const at = (now: number) => depsWith({ clock: { now: () => now } });
    const records = () => [
      aRecord(aws, { timestamp: lastHourOfJanuary }),
      aRecord(gcp, { timestamp: lastHourOfJanuary }),
      aRecord(aws, { timestamp: '2027-02-01T07:10:00Z' }),
    ];

    // The run at 05:05 sends it before AWS closes January at 06:00; after 05:00, none will.
    const early = await ingestUsage(at(Date.UTC(2027, 1, 1, 4, 30)), records().slice(0, 2));
    const late = await ingestUsage(at(Date.UTC(2027, 1, 1, 8)), records());

    expect(statuses(early.results)).toEqual(['accepted', 'accepted']);
    expect(statuses(late.results)).toEqual(['outside_window', 'accepted', 'accepted']);
    expect(late.results[0]).toMatchObject({ path: 'timestamp' });
    expect(late.results[0]?.message).toMatch(/2027-02-01T06:00:00.000Z/);
  });

  it('answers a repeat with the same content as its first occurrence', async () => {
    const entitlement = await seeded();
    const record = aRecord(entitlement, { quantity: 6 });
    const late = aRecord(entitlement, { timestamp: iso(NOW - 30 * HOUR_MS) });
    const result = await ingestUsage(depsWith(), [
      record,
      { ...record, timestamp: iso(Date.parse(record.timestamp)).replace('Z', '+00:00') },
      late,
      late,
    ]);
    expect(statuses(result.results)).toEqual([
      'accepted',
      'duplicate',
      'outside_window',
      'outside_window',
    ]);
    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(6);
  });

  it('sums allocations per tag set, whatever the order of the tag keys', async () => {
    const entitlement = await seeded();
    await ingestUsage(depsWith(), [
      aRecord(entitlement, {
        quantity: 10,
        allocations: [
          { tags: { team: 'a', env: 'prod' }, quantity: 6 },
          { tags: { team: 'b' }, quantity: 4 },
        ],
      }),
      aRecord(entitlement, {
        quantity: 5,
        allocations: [{ tags: { env: 'prod', team: 'a' }, quantity: 5 }],
      }),
      aRecord(entitlement, { quantity: 2 }),
    ]);
    const hour = await store.getUsageHour(hourOf(entitlement));
    expect(hour?.quantity).toBe(17);
    expect(hour?.allocations).toEqual([
      { tags: { env: 'prod', team: 'a' }, quantity: 11 },
      { tags: { team: 'b' }, quantity: 4 },
      { tags: {}, quantity: 2 },
    ]);
  });

  it("finds a tenant's one usable entitlement of a cloud this deployment meters", async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const active = await seeded({ tenantId });
    await seeded({ tenantId, status: 'cancelled' });
    await seeded({ tenantId, status: 'pending_approval' });
    await seeded({ tenantId, cloud: 'gcp', plan: 'pro' });
    const byTenant = (overrides: Record<string, unknown> = {}) => ({
      ...aRecord(active, overrides),
      entitlementId: undefined,
      tenantId,
    });

    const awsOnly = await ingestUsage(depsWith({ clouds: ['aws'] }), [
      byTenant({ quantity: 2 }),
      byTenant({ quantity: 3 }),
    ]);
    const everyCloud = await ingestUsage(depsWith(), [byTenant()]);

    expect(statuses(awsOnly.results)).toEqual(['accepted', 'accepted']);
    expect((await store.getUsageHour(hourOf(active)))?.quantity).toBe(5);
    expect(everyCloud.results[0]).toMatchObject({ status: 'rejected', code: 'ambiguous_tenant' });
    expect(everyCloud.results[0]?.message).toContain(vendorIdOf(active));
  });

  it('makes one store add per (entitlement, dimension, hour) and reads each entitlement once', async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const entitlements = [await seeded({ tenantId }), await seeded(), await seeded()];
    const hours = [OPEN_HOUR, OPEN_HOUR - HOUR_MS, OPEN_HOUR - 5 * HOUR_MS];
    const batch = entitlements.flatMap((entitlement, e) =>
      ['requests', 'users'].flatMap((dimension) =>
        hours.flatMap((hour) =>
          Array.from({ length: 7 }, (_, i) => {
            const record = aRecord(entitlement, {
              dimension,
              quantity: i + 1,
              timestamp: iso(hour + i * 60_000),
            });
            // Half of the first entitlement's records name its tenant instead.
            return e === 0 && i % 2 === 0
              ? { ...record, entitlementId: undefined, tenantId }
              : record;
          }),
        ),
      ),
    );
    const { store: counted, calls } = counting(store);

    const result = await ingestUsage(depsWith({ store: counted }), batch);

    expect(result.accepted).toBe(batch.length);
    expect(calls.addUsage).toBe(entitlements.length * 2 * hours.length);
    // The tenant's listing brings its entitlement: only the two others are read.
    expect(calls.listEntitlements).toBe(1);
    expect(calls.getEntitlement).toBe(2);
    const total = await store.getUsageHour(hourOf(entitlements[1]!, hours[2], 'users'));
    expect(total?.quantity).toBe(1 + 2 + 3 + 4 + 5 + 6 + 7);
  });

  it('takes 1,000 records in one batch, and a retry of it counts none again', async () => {
    const entitlements = [await seeded(), await seeded()];
    const batch = Array.from({ length: MAX_USAGE_RECORDS_PER_BATCH }, (_, i) =>
      aRecord(entitlements[i % 2]!, {
        dimension: i % 3 === 0 ? 'users' : 'requests',
        quantity: (i % 10) + 1,
        ...(i % 4 === 0
          ? { allocations: [{ tags: { team: `t${i % 8}` }, quantity: (i % 10) + 1 }] }
          : {}),
      }),
    );
    const { store: counted, calls } = counting(store);

    const first = await ingestUsage(depsWith({ store: counted }), batch);
    const again = await ingestUsage(depsWith(), batch);

    expect(first).toMatchObject({ accepted: 1_000, duplicates: 0, rejected: 0 });
    expect(calls.addUsage).toBe(4);
    expect(again).toMatchObject({ accepted: 0, duplicates: 1_000, rejected: 0 });
    const expected = batch.reduce((sum, r) => sum + r.quantity, 0);
    let stored = 0;
    for (const entitlement of entitlements) {
      for (const dimension of ['requests', 'users']) {
        stored += (await store.getUsageHour(hourOf(entitlement, undefined, dimension)))!.quantity;
      }
    }
    expect(stored).toBe(expected);
  });

  it('refuses more than 1,000 records at once', async () => {
    const entitlement = await seeded();
    const batch = Array.from({ length: MAX_USAGE_RECORDS_PER_BATCH + 1 }, () =>
      aRecord(entitlement),
    );
    await expect(ingestUsage(depsWith(), batch)).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects usage for a sealed hour, and still answers its retries as duplicates', async () => {
    const entitlement = await seeded();
    const counted = aRecord(entitlement, { quantity: 4 });
    await ingestUsage(depsWith(), [counted]);
    await store.sealUsageHour(hourOf(entitlement), NOW);

    const result = await ingestUsage(depsWith(), [
      counted,
      aRecord(entitlement, { quantity: 9 }),
      aRecord(entitlement, { quantity: 2, timestamp: iso(NOW) }),
    ]);

    expect(statuses(result.results)).toEqual(['duplicate', 'hour_closed', 'accepted']);
    expect(result.results[1]?.message).toMatch(/sealed/);
    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(4);
    expect((await store.getUsageHour(hourOf(entitlement, OPEN_HOUR)))?.quantity).toBe(2);
  });

  it('surfaces a store outage, and the retry counts each record once', async () => {
    const entitlement = await seeded();
    const batch = ['requests', 'users'].flatMap((dimension) =>
      Array.from({ length: 5 }, () => aRecord(entitlement, { dimension, quantity: 3 })),
    );
    let adds = 0;
    const flaky: Store = {
      ...store,
      addUsage: async (ingest) => {
        adds += 1;
        if (adds === 2) throw new StoreUnavailableError('throttled');
        return store.addUsage(ingest);
      },
    };

    await expect(ingestUsage(depsWith({ store: flaky, concurrency: 1 }), batch)).rejects.toThrow(
      StoreUnavailableError,
    );
    const retried = await ingestUsage(depsWith(), batch);

    expect(statuses(retried.results)).toEqual([
      ...Array<string>(5).fill('duplicate'),
      ...Array<string>(5).fill('accepted'),
    ]);
    expect((await store.getUsageHour(hourOf(entitlement)))?.quantity).toBe(15);
    expect((await store.getUsageHour(hourOf(entitlement, undefined, 'users')))?.quantity).toBe(15);
  });

  it('rejects the record that would give an hour more tag sets than AWS takes, and keeps the rest', async () => {
    const entitlement = await seeded();
    const tagged = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) =>
        aRecord(entitlement, { allocations: [{ tags: { n: String(from + i) }, quantity: 1 }] }),
      );
    for (let from = 0; from < 2_499; from += 1_000) {
      const batch = tagged(from, Math.min(1_000, 2_499 - from));
      expect((await ingestUsage(depsWith(), batch)).accepted).toBe(batch.length);
    }

    const result = await ingestUsage(depsWith(), [
      aRecord(entitlement, { allocations: [{ tags: { n: '0' }, quantity: 1 }] }),
      ...tagged(5_000, 2),
      aRecord(entitlement),
    ]);

    // The 2,500th set fits; the next is one too many, and the untagged share would be as well.
    expect(statuses(result.results)).toEqual([
      'accepted',
      'accepted',
      'invalid_allocations',
      'invalid_allocations',
    ]);
    expect(result.results[2]?.message).toMatch(/2500|2,500/);
    const hour = await store.getUsageHour(hourOf(entitlement));
    expect(hour?.allocations).toHaveLength(2_500);
    expect(hour?.quantity).toBe(2_501);
  });

  it("never lets an hour's total pass the most a marketplace takes, refusing the record that would", async () => {
    const big = await seeded();
    const other = await seeded();
    const first = aRecord(big, { quantity: 2_000_000_000 });
    const result = await ingestUsage(depsWith(), [
      first,
      aRecord(big, {
        quantity: 2_000_000_000,
        allocations: [
          { tags: { team: 'a' }, quantity: 1_000_000_000 },
          { quantity: 1_000_000_000 },
        ],
      }),
      aRecord(other, { quantity: 3 }),
      aRecord(big, { quantity: MAX_USAGE_QUANTITY - 2_000_000_000 }),
    ]);

    expect(statuses(result.results)).toEqual([
      'accepted',
      'hour_total_too_large',
      'accepted',
      'accepted',
    ]);
    expect(result.results[1]?.message).toMatch(/2147483647/);
    // Not one part of the refused record counts: its allocations went with it.
    expect(await store.getUsageHour(hourOf(big))).toMatchObject({
      quantity: MAX_USAGE_QUANTITY,
      allocations: [],
    });
    expect((await store.getUsageHour(hourOf(other)))?.quantity).toBe(3);

    // The next batch finds the hour full, and still answers a retry of what it counted.
    const next = await ingestUsage(depsWith(), [
      aRecord(big),
      first,
      aRecord(big, { quantity: 0 }),
    ]);
    expect(statuses(next.results)).toEqual(['hour_total_too_large', 'duplicate', 'accepted']);
    expect((await store.getUsageHour(hourOf(big)))?.quantity).toBe(MAX_USAGE_QUANTITY);
  });

  describe('listing an entitlement’s hours', () => {
    it('shows each hour open, sealed, sent or rejected, with the marketplace answer', async () => {
      const entitlement = await seeded();
      const hours = [5, 4, 3, 2].map((back) => OPEN_HOUR - back * HOUR_MS);
      await ingestUsage(
        depsWith(),
        hours.map((hour, i) => aRecord(entitlement, { timestamp: iso(hour), quantity: i + 1 })),
      );
      const [sealed, sent, rejected] = hours.map((hour) => hourOf(entitlement, hour)) as [
        UsageHourKey,
        UsageHourKey,
        UsageHourKey,
      ];
      for (const key of [sealed, sent, rejected]) await store.sealUsageHour(key, NOW);
      await store.markUsageHour(sent, 'sent', {
        status: 'Success',
        meteringRecordId: 'mr-1',
        reason: null,
        atEpochMs: NOW,
      });
      await store.markUsageHour(rejected, 'rejected', {
        status: 'CustomerNotSubscribed',
        meteringRecordId: null,
        reason: 'CustomerNotSubscribed: the buyer is not subscribed for this hour',
        atEpochMs: NOW,
      });

      const page = await listUsage(
        { store },
        {
          entitlementId: vendorIdOf(entitlement),
          fromEpochMs: OPEN_HOUR - 6 * HOUR_MS,
          toEpochMs: OPEN_HOUR,
        },
        { limit: 10 },
      );

      expect(page.nextCursor).toBeNull();
      expect(
        page.items.map(({ entitlementId, hourStartEpochMs, quantity, state, answer }) => ({
          entitlementId,
          hourStartEpochMs,
          quantity,
          state,
          meteringRecordId: answer?.meteringRecordId ?? null,
          reason: answer?.reason ?? null,
        })),
      ).toEqual([
        {
          entitlementId: vendorIdOf(entitlement),
          hourStartEpochMs: hours[0],
          quantity: 1,
          state: 'sealed',
          meteringRecordId: null,
          reason: null,
        },
        {
          entitlementId: vendorIdOf(entitlement),
          hourStartEpochMs: hours[1],
          quantity: 2,
          state: 'sent',
          meteringRecordId: 'mr-1',
          reason: null,
        },
        {
          entitlementId: vendorIdOf(entitlement),
          hourStartEpochMs: hours[2],
          quantity: 3,
          state: 'rejected',
          meteringRecordId: null,
          reason: 'CustomerNotSubscribed: the buyer is not subscribed for this hour',
        },
        {
          entitlementId: vendorIdOf(entitlement),
          hourStartEpochMs: hours[3],
          quantity: 4,
          state: 'open',
          meteringRecordId: null,
          reason: null,
        },
      ]);
    });

    it('pages through the hours, and keeps to the range', async () => {
      const entitlement = await seeded();
      const hours = [6, 5, 4, 3, 2, 1, 0].map((back) => OPEN_HOUR - back * HOUR_MS);
      await ingestUsage(
        depsWith(),
        hours.map((hour) => aRecord(entitlement, { timestamp: iso(hour) })),
      );
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await listUsage(
          { store },
          {
            entitlementId: vendorIdOf(entitlement),
            fromEpochMs: hours[1]!,
            toEpochMs: hours[6]!,
          },
          { limit: 2, cursor },
        );
        seen.push(...page.items.map((hour) => hour.hourStartEpochMs));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(hours.slice(1, 6));
    });

    it('says NotFound for an unknown entitlement and refuses an id that is no vendor id', async () => {
      const range = { fromEpochMs: 0, toEpochMs: NOW };
      await expect(
        listUsage({ store }, { ...range, entitlementId: `gcp:ent-${randomUUID()}` }, { limit: 10 }),
      ).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        listUsage({ store }, { ...range, entitlementId: 'no-cloud' }, { limit: 10 }),
      ).rejects.toBeInstanceOf(ValidationError);
    });
  });
});
