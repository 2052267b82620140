import type { UsageRecord } from '@aws-sdk/client-marketplace-metering';
import {
  BatchMeterUsageCommand,
  DuplicateRequestException,
  IdempotencyConflictException,
  InternalServiceErrorException,
  InvalidCustomerIdentifierException,
  InvalidLicenseException,
  InvalidProductCodeException,
  InvalidTagException,
  InvalidUsageAllocationsException,
  InvalidUsageDimensionException,
  MarketplaceMeteringServiceException,
  MeterUsageCommand,
  ThrottlingException,
  TimestampOutOfBoundsException,
} from '@aws-sdk/client-marketplace-metering';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import type { SubscribeAnswer } from './aws-simulator';
import { meteringClient } from './testing/sdk-clients';

const HOUR_MS = 3_600_000;
const START_MS = Date.UTC(2026, 4, 15, 12, 30);
const PRODUCT = 'meteredproduct00000000001';
const OTHER = 'otherproduct0000000000001';

describe('AWSMPMeteringService.BatchMeterUsage through the official SDK', () => {
  let sim: Simulator;
  let nowMs = START_MS;
  const client = () => meteringClient(sim.url, { maxAttempts: 1 });
  const meter = (UsageRecords: UsageRecord[], ProductCode?: string) =>
    client().send(
      new BatchMeterUsageCommand({ UsageRecords, ...(ProductCode ? { ProductCode } : {}) }),
    );
  const hourStart = (offsetHours = 0) =>
    new Date(Math.floor(nowMs / HOUR_MS) * HOUR_MS + offsetHours * HOUR_MS);
  const record = (bought: SubscribeAnswer, extra: Partial<UsageRecord> = {}): UsageRecord => ({
    Timestamp: hourStart(),
    Dimension: 'requests',
    Quantity: 10,
    CustomerAWSAccountId: bought.customerAWSAccountId,
    LicenseArn: bought.licenseArn,
    ...extra,
  });

  beforeAll(async () => {
    sim = await createSimulator({
      seed: 'metering',
      now: () => nowMs,
      aws: {
        products: [
          { code: PRODUCT, usageDimensions: ['requests', 'users'] },
          { code: OTHER, usageDimensions: ['requests'] },
        ],
        requestsPerSecond: 0,
        unsubscribeCompleteAfterMs: null,
      },
    });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    sim.aws.configure({ requestsPerSecond: 0 });
    nowMs = START_MS;
  });

  describe('billing and dedupe', () => {
    it('bills a record once; the same quantity again answers Success with the same id', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const first = await meter([record(bought)]);
      expect(first.Results).toEqual([
        {
          UsageRecord: expect.objectContaining({ Dimension: 'requests', Quantity: 10 }),
          MeteringRecordId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          Status: 'Success',
        },
      ]);
      expect(first.UnprocessedRecords).toEqual([]);
      expect(first.Results![0]!.UsageRecord!.Timestamp).toEqual(hourStart());

      const again = await meter([
        record(bought, { Timestamp: new Date(hourStart().getTime() + 60_000) }),
      ]);
      expect(again.Results![0]).toMatchObject({
        Status: 'Success',
        MeteringRecordId: first.Results![0]!.MeteringRecordId,
      });
      expect(sim.aws.meteringRecords()).toEqual([
        expect.objectContaining({
          productCode: PRODUCT,
          licenseArn: bought.licenseArn,
          customerAWSAccountId: bought.customerAWSAccountId,
          dimension: 'requests',
          quantity: 10,
          hourStart: hourStart().toISOString(),
        }),
      ]);
    });

    it('answers DuplicateRecord for another quantity in the same hour and bills nothing more', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      await meter([record(bought)]);
      const duplicate = await meter([record(bought, { Quantity: 11 })]);
      expect(duplicate.Results![0]!.Status).toBe('DuplicateRecord');
      expect(duplicate.Results![0]!.MeteringRecordId).toBeUndefined();
      expect(sim.aws.meteringRecords().map((row) => row.quantity)).toEqual([10]);
      expect(sim.aws.refusedRecords()).toEqual([
        expect.objectContaining({ status: 'DuplicateRecord', productCode: PRODUCT }),
      ]);
    });

    it('keeps hours, dimensions and concurrent agreements of one account apart', async () => {
      const first = await sim.aws.subscribe({ productCode: PRODUCT });
      const second = await sim.aws.subscribe({
        productCode: PRODUCT,
        customerAWSAccountId: first.customerAWSAccountId,
      });
      expect(second.licenseArn).not.toBe(first.licenseArn);
      const result = await meter([
        record(first),
        record(first, { Timestamp: hourStart(-1) }),
        record(first, { Dimension: 'users' }),
        record(second),
      ]);
      expect(result.Results!.map((r) => r.Status)).toEqual([
        'Success',
        'Success',
        'Success',
        'Success',
      ]);
      expect(new Set(result.Results!.map((r) => r.MeteringRecordId)).size).toBe(4);
      expect(sim.aws.meteringRecords()).toHaveLength(4);
    });

    it('meters a legacy buyer by CustomerIdentifier, and by account id with the ProductCode', async () => {
      const legacy = await sim.aws.subscribe({ productCode: PRODUCT, legacy: true });
      const byCustomer = await meter(
        [
          {
            Timestamp: hourStart(),
            Dimension: 'requests',
            Quantity: 3,
            CustomerIdentifier: legacy.customerIdentifier!,
          },
        ],
        PRODUCT,
      );
      expect(byCustomer.Results![0]!.Status).toBe('Success');

      const current = await sim.aws.subscribe({ productCode: PRODUCT });
      const byAccount = await meter(
        [
          {
            Timestamp: hourStart(),
            Dimension: 'users',
            Quantity: 4,
            CustomerAWSAccountId: current.customerAWSAccountId,
          },
        ],
        PRODUCT,
      );
      expect(byAccount.Results![0]!.Status).toBe('Success');
      expect(sim.aws.meteringRecords()).toEqual([
        expect.objectContaining({ customerIdentifier: legacy.customerIdentifier, quantity: 3 }),
        expect.objectContaining({ licenseArn: current.licenseArn, quantity: 4 }),
      ]);
    });

    it('accepts 0 to 25 records, and Quantity from 0 to 2147483647', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      expect((await meter([], PRODUCT)).Results).toEqual([]);
      const full = await meter(
        Array.from({ length: 25 }, (_, i) =>
          record(bought, {
            Timestamp: hourStart(-i % 20),
            Dimension: i < 20 ? 'requests' : 'users',
            Quantity: i === 0 ? 2_147_483_647 : 0,
          }),
        ),
      );
      expect(full.Results).toHaveLength(25);
      expect(full.Results!.every((r) => r.Status === 'Success')).toBe(true);
    });

    it('meters usage split by allocations with tags', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const allocations = [
        { AllocatedUsageQuantity: 6, Tags: [{ Key: 'team', Value: 'a/b c:d@e+f=g' }] },
        {
          AllocatedUsageQuantity: 4,
          Tags: [
            { Key: 'team', Value: 'ops' },
            { Key: 'env', Value: 'prod' },
          ],
        },
      ];
      const result = await meter([record(bought, { UsageAllocations: allocations })]);
      expect(result.Results![0]!.Status).toBe('Success');
      expect(sim.aws.meteringRecords()[0]!.usageAllocations).toEqual(allocations);
    });
  });

  describe('records refused one by one', () => {
    it('answers CustomerNotSubscribed before subscribe-success and after a failed subscription', async () => {
      const pending = await sim.aws.subscribe({ productCode: PRODUCT, pending: true });
      expect((await meter([record(pending)])).Results![0]!.Status).toBe('CustomerNotSubscribed');
      await sim.aws.act(pending.licenseArn, 'confirm');
      expect((await meter([record(pending)])).Results![0]!.Status).toBe('Success');

      const failed = await sim.aws.subscribe({ productCode: PRODUCT });
      await sim.aws.act(failed.licenseArn, 'fail');
      expect((await meter([record(failed)])).Results![0]!.Status).toBe('CustomerNotSubscribed');
      expect(sim.aws.refusedRecords().map((row) => row.status)).toEqual([
        'CustomerNotSubscribed',
        'CustomerNotSubscribed',
      ]);
    });

    it('accepts final records for about an hour after the subscription ended, not after', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      await sim.aws.act(bought.licenseArn, 'unsubscribe');
      expect((await meter([record(bought, { Dimension: 'users' })])).Results![0]!.Status).toBe(
        'Success',
      );

      nowMs += 10 * 60_000;
      await sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
      const endedMs = nowMs;
      const finalHour = new Date(Math.floor(endedMs / HOUR_MS) * HOUR_MS);
      nowMs = endedMs + HOUR_MS;
      expect((await meter([record(bought, { Timestamp: finalHour })])).Results![0]!.Status).toBe(
        'Success',
      );
      // Usage later than the end is not the buyer's to pay.
      const afterEnd = record(bought, { Timestamp: new Date(endedMs + 1000), Dimension: 'users' });
      expect((await meter([afterEnd])).Results![0]!.Status).toBe('CustomerNotSubscribed');

      nowMs = endedMs + HOUR_MS + 1;
      const late = record(bought, { Timestamp: finalHour, Dimension: 'users' });
      expect((await meter([late])).Results![0]!.Status).toBe('CustomerNotSubscribed');
      expect(sim.aws.license(bought.licenseArn)).toMatchObject({
        status: 'unsubscribed',
        entitlements: [],
      });
    });

    it('answers CustomerNotSubscribed for an unknown customer or a CustomerIdentifier of a new product', async () => {
      await sim.aws.subscribe({ productCode: PRODUCT });
      const result = await meter(
        [
          {
            Timestamp: hourStart(),
            Dimension: 'requests',
            Quantity: 1,
            CustomerIdentifier: 'X01EXAMPLEX',
          },
          {
            Timestamp: hourStart(),
            Dimension: 'requests',
            Quantity: 1,
            CustomerAWSAccountId: '999999999999',
          },
        ],
        PRODUCT,
      );
      expect(result.Results!.map((r) => r.Status)).toEqual([
        'CustomerNotSubscribed',
        'CustomerNotSubscribed',
      ]);
    });
  });

  describe('calls refused whole', () => {
    const expectNothingBilled = () => expect(sim.aws.meteringRecords()).toEqual([]);

    it('refuses 26 records with ValidationException, as AWS does for a list over its limit', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const call = meter(Array.from({ length: 26 }, () => record(bought)));
      await expect(call).rejects.toBeInstanceOf(MarketplaceMeteringServiceException);
      await expect(call).rejects.toMatchObject({
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: expect.stringContaining('have length less than or equal to 25'),
      });
      expectNothingBilled();
      expect(sim.aws.refusedCalls()).toEqual([
        expect.objectContaining({
          operation: 'BatchMeterUsage',
          errorType: 'ValidationException',
          recordCount: 26,
        }),
      ]);
    });

    it.each([
      ['Quantity -1', { Quantity: -1 }, 'have value greater than or equal to 0'],
      ['Quantity 2^31', { Quantity: 2_147_483_648 }, 'have value less than or equal to 2147483647'],
      ['an empty Dimension', { Dimension: '' }, 'have length greater than or equal to 1'],
      ['a non-numeric account', { CustomerAWSAccountId: 'acct-1' }, 'regular expression pattern'],
    ])('refuses %s with ValidationException', async (_, extra, wording) => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      await expect(meter([record(bought, extra as Partial<UsageRecord>)])).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining(wording),
      });
      expectNothingBilled();
    });

    it('refuses CustomerIdentifier and CustomerAWSAccountId together', async () => {
      const legacy = await sim.aws.subscribe({ productCode: PRODUCT, legacy: true });
      await expect(
        meter(
          [
            {
              Timestamp: hourStart(),
              Dimension: 'requests',
              CustomerIdentifier: legacy.customerIdentifier!,
              CustomerAWSAccountId: legacy.customerAWSAccountId,
            },
          ],
          PRODUCT,
        ),
      ).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining('mutually exclusive'),
      });
    });

    it('refuses the whole batch when one Timestamp is 24 hours old or more', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const good = record(bought);
      const stale = record(bought, {
        Dimension: 'users',
        Timestamp: new Date(nowMs - 24 * HOUR_MS),
      });
      const call = meter([good, stale]);
      await expect(call).rejects.toBeInstanceOf(TimestampOutOfBoundsException);
      expectNothingBilled();

      const justInTime = record(bought, {
        Dimension: 'users',
        Timestamp: new Date(nowMs - 24 * HOUR_MS + 1000),
      });
      expect((await meter([good, justInTime])).Results!.map((r) => r.Status)).toEqual([
        'Success',
        'Success',
      ]);
      await expect(
        meter([record(bought, { Timestamp: new Date(nowMs + 25 * HOUR_MS) })]),
      ).rejects.toBeInstanceOf(TimestampOutOfBoundsException);
    });

    it('takes the previous month’s records until 06:00 UTC on the 1st only', async () => {
      nowMs = Date.UTC(2026, 5, 1, 5, 59);
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const lastHourOfMay = new Date(Date.UTC(2026, 4, 31, 23, 0));
      expect(
        (await meter([record(bought, { Timestamp: lastHourOfMay })])).Results![0]!.Status,
      ).toBe('Success');
      nowMs = Date.UTC(2026, 5, 1, 6, 0);
      await expect(
        meter([record(bought, { Timestamp: lastHourOfMay, Dimension: 'users' })]),
      ).rejects.toBeInstanceOf(TimestampOutOfBoundsException);
    });

    it('refuses a dimension the product does not meter', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      await expect(meter([record(bought, { Dimension: 'seats' })])).rejects.toBeInstanceOf(
        InvalidUsageDimensionException,
      );
    });

    it('refuses allocations that do not add up, repeat a tag set or carry bad tags', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const tags = (count: number) =>
        Array.from({ length: count }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      await expect(
        meter([record(bought, { UsageAllocations: [{ AllocatedUsageQuantity: 9 }] })]),
      ).rejects.toBeInstanceOf(InvalidUsageAllocationsException);
      await expect(
        meter([
          record(bought, {
            UsageAllocations: [
              { AllocatedUsageQuantity: 5, Tags: tags(1) },
              { AllocatedUsageQuantity: 5, Tags: tags(1) },
            ],
          }),
        ]),
      ).rejects.toBeInstanceOf(InvalidUsageAllocationsException);
      await expect(
        meter([
          record(bought, { UsageAllocations: [{ AllocatedUsageQuantity: 10, Tags: tags(6) }] }),
        ]),
      ).rejects.toBeInstanceOf(InvalidTagException);
      await expect(
        meter([
          record(bought, {
            UsageAllocations: [
              { AllocatedUsageQuantity: 10, Tags: [{ Key: 'bad?key', Value: 'v' }] },
            ],
          }),
        ]),
      ).rejects.toBeInstanceOf(InvalidTagException);
      await expect(
        meter([
          record(bought, {
            UsageAllocations: [
              { AllocatedUsageQuantity: 10, Tags: [{ Key: 'k', Value: 'x'.repeat(257) }] },
            ],
          }),
        ]),
      ).rejects.toBeInstanceOf(InvalidTagException);
      expectNothingBilled();
    });

    it('refuses the whole batch for the allocations of one record, billing none of it', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const good = record(bought, {
        UsageAllocations: [
          { AllocatedUsageQuantity: 7, Tags: [{ Key: 'team', Value: 'a' }] },
          { AllocatedUsageQuantity: 3 },
        ],
      });
      const unbalanced = record(bought, {
        Dimension: 'users',
        UsageAllocations: [{ AllocatedUsageQuantity: 4, Tags: [{ Key: 'team', Value: 'a' }] }],
      });
      await expect(meter([good, unbalanced])).rejects.toBeInstanceOf(
        InvalidUsageAllocationsException,
      );
      const badTag = record(bought, {
        Dimension: 'users',
        UsageAllocations: [{ AllocatedUsageQuantity: 10, Tags: [{ Key: 'team', Value: 'é' }] }],
      });
      await expect(meter([good, badTag])).rejects.toBeInstanceOf(InvalidTagException);
      expectNothingBilled();
      expect((await meter([good])).Results![0]!.Status).toBe('Success');
      expect(sim.aws.meteringRecords()[0]!.usageAllocations).toEqual(good.UsageAllocations);
    });

    it('refuses a LicenseArn that is unknown, of another customer or written without "arn:"', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const other = await sim.aws.subscribe({ productCode: PRODUCT });
      for (const extra of [
        { LicenseArn: `${bought.licenseArn.slice(0, -4)}ffff` },
        { CustomerAWSAccountId: other.customerAWSAccountId },
        { LicenseArn: bought.licenseArn.replace(/^arn:/, '') },
      ]) {
        await expect(meter([record(bought, extra)])).rejects.toBeInstanceOf(
          InvalidLicenseException,
        );
      }
      expectNothingBilled();
    });

    it('holds one product per call', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const elsewhere = await sim.aws.subscribe({ productCode: OTHER });
      await expect(meter([record(bought), record(elsewhere)])).rejects.toBeInstanceOf(
        InvalidProductCodeException,
      );
      await expect(meter([record(elsewhere)], PRODUCT)).rejects.toBeInstanceOf(
        InvalidLicenseException,
      );
      await expect(meter([record(bought)], 'nosuchproduct')).rejects.toBeInstanceOf(
        InvalidProductCodeException,
      );
      await expect(
        meter([
          {
            Timestamp: hourStart(),
            Dimension: 'requests',
            CustomerAWSAccountId: bought.customerAWSAccountId,
          },
        ]),
      ).rejects.toBeInstanceOf(InvalidProductCodeException);
      await expect(
        meter([{ Timestamp: hourStart(), Dimension: 'requests' }], PRODUCT),
      ).rejects.toBeInstanceOf(InvalidCustomerIdentifierException);
    });
  });

  describe('throttling, server faults and unprocessed records', () => {
    it('throttles over the per-operation quota (10 requests a second by default)', async () => {
      sim.aws.configure({ requestsPerSecond: 10 });
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 30 }, () => meter([record(bought)])),
      );
      const refused = outcomes.filter((o) => o.status === 'rejected');
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeLessThanOrEqual(20);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(ThrottlingException);
      expect(sim.aws.calls().BatchMeterUsage).toBe(30);
    });

    it('throttles and fails with 500 InternalServiceErrorException through POST /_sim/faults', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT });
      const setFaults = (body: unknown) =>
        fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify(body) });
      expect((await setFaults({ throttleRps: 0.5, scope: 'aws' })).status).toBe(200);
      await meter([record(bought)]);
      await expect(meter([record(bought)])).rejects.toBeInstanceOf(ThrottlingException);

      await setFaults({ errorRate: 1, scope: 'aws' });
      const failed = meter([record(bought)]);
      await expect(failed).rejects.toBeInstanceOf(InternalServiceErrorException);
      await expect(failed).rejects.toMatchObject({
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });

      // The SDK's own retries absorb a share of transient 500s.
      await setFaults({ errorRate: 0.3, seed: 'retries', scope: 'aws' });
      const retrying = meteringClient(sim.url);
      for (let i = 0; i < 3; i += 1) {
        await retrying.send(new BatchMeterUsageCommand({ UsageRecords: [record(bought)] }));
      }
      await setFaults({ errorRate: 1, scope: 'gcp' });
      expect((await meter([record(bought)])).Results![0]!.Status).toBe('Success');
    });

    it('answers a share of records as UnprocessedRecords, the same under the same seed', async () => {
      const run = async () => {
        sim.reset();
        const bought = await sim.aws.subscribe({ productCode: PRODUCT });
        sim.setFaults({ unprocessedRate: 0.5, seed: 7 });
        const records = Array.from({ length: 20 }, (_, i) =>
          record(bought, { Timestamp: hourStart(-i) }),
        );
        const answer = await meter(records);
        return { bought, answer };
      };
      const { answer: first } = await run();
      expect(await (await fetch(`${sim.url}/_sim/faults`)).json()).toEqual({
        seed: 7,
        unprocessedRate: 0.5,
      });
      expect(first.UnprocessedRecords!.length).toBeGreaterThan(0);
      expect(first.UnprocessedRecords!.length).toBeLessThan(20);
      expect(first.Results!.length + first.UnprocessedRecords!.length).toBe(20);
      expect(sim.aws.meteringRecords()).toHaveLength(first.Results!.length);
      const times = (records: UsageRecord[]) => records.map((r) => r.Timestamp!.getTime());
      const { bought, answer: again } = await run();
      expect(times(again.UnprocessedRecords!)).toEqual(times(first.UnprocessedRecords!));

      // Unprocessed records are re-sent as they are.
      sim.resetFaults();
      const resent = await meter(again.UnprocessedRecords!);
      expect(resent.Results!.every((r) => r.Status === 'Success')).toBe(true);
      expect(sim.aws.meteringRecords()).toHaveLength(20);
      expect(bought.licenseArn).toBe(again.Results![0]!.UsageRecord!.LicenseArn);
    });
  });

  it('lists billed and refused records and counts calls at GET /_sim/aws/metering-records', async () => {
    const bought = await sim.aws.subscribe({ productCode: PRODUCT });
    await meter([record(bought)]);
    await meter([record(bought, { Quantity: 99 })]);
    await meter([record(bought, { Dimension: 'nope' })]).catch(() => undefined);
    const response = await fetch(
      `${sim.url}/_sim/aws/metering-records?licenseArn=${encodeURIComponent(bought.licenseArn)}`,
    );
    expect(await response.json()).toEqual({
      records: [expect.objectContaining({ quantity: 10, operation: 'BatchMeterUsage' })],
      refused: [expect.objectContaining({ status: 'DuplicateRecord' })],
      refusedCalls: [expect.objectContaining({ errorType: 'InvalidUsageDimensionException' })],
      calls: { BatchMeterUsage: 3 },
    });
  });
});

describe('AWSMPMeteringService.MeterUsage through the official SDK', () => {
  let sim: Simulator;
  const client = () => meteringClient(sim.url, { maxAttempts: 1 });
  const meter = (input: Partial<ConstructorParameters<typeof MeterUsageCommand>[0]> = {}) =>
    client().send(
      new MeterUsageCommand({
        ProductCode: PRODUCT,
        Timestamp: new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS),
        UsageDimension: 'requests',
        UsageQuantity: 5,
        ...input,
      }),
    );

  beforeAll(async () => {
    sim = await createSimulator({
      seed: 'meter-usage',
      aws: { products: [{ code: PRODUCT, usageDimensions: ['requests'] }] },
    });
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  it('meters one record, idempotently per hour and per ClientToken', async () => {
    const first = await meter({ ClientToken: 'token-1' });
    expect(first.MeteringRecordId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await meter({ ClientToken: 'token-1' })).MeteringRecordId).toBe(first.MeteringRecordId);
    expect((await meter()).MeteringRecordId).toBe(first.MeteringRecordId);
    await expect(meter({ UsageQuantity: 6 })).rejects.toBeInstanceOf(DuplicateRequestException);
    await expect(meter({ ClientToken: 'token-1', UsageQuantity: 7 })).rejects.toBeInstanceOf(
      IdempotencyConflictException,
    );
    expect(sim.aws.meteringRecords()).toEqual([
      expect.objectContaining({ operation: 'MeterUsage', quantity: 5 }),
    ]);
  });

  it('checks a DryRun without metering', async () => {
    await expect(meter({ DryRun: true })).rejects.toMatchObject({ name: 'DryRunOperation' });
    await expect(meter({ DryRun: true, UsageDimension: 'nope' })).rejects.toBeInstanceOf(
      InvalidUsageDimensionException,
    );
    expect(sim.aws.meteringRecords()).toEqual([]);
  });
});
