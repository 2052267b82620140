import type { SimHttpError } from '../http/http-error';
import { checkAllocations, readBatchMeterUsage, readMeterUsage } from './usage-records';

const caught = (
  run: () => unknown,
): { status: number; body: { __type: string; message: string } } => {
  try {
    run();
  } catch (error) {
    const { status, body } = error as SimHttpError;
    return { status, body: body as { __type: string; message: string } };
  }
  throw new Error('expected an error');
};

const record = (extra: Record<string, unknown> = {}) => ({
  Timestamp: 1_778_846_400,
  Dimension: 'requests',
  Quantity: 1,
  CustomerAWSAccountId: '123456789012',
  ...extra,
});

describe('readBatchMeterUsage', () => {
  it('reads records, Quantity defaulting to 0', () => {
    expect(
      readBatchMeterUsage({ ProductCode: 'p', UsageRecords: [record({ Quantity: undefined })] }),
    ).toEqual({ ProductCode: 'p', UsageRecords: [{ ...record(), Quantity: 0 }] });
  });

  it('words constraint violations as Coral does, all of them at once', () => {
    const error = caught(() =>
      readBatchMeterUsage({
        UsageRecords: [
          record({ Quantity: -1, Dimension: '' }),
          record({ CustomerAWSAccountId: 'x' }),
        ],
      }),
    );
    expect(error.status).toBe(400);
    expect(error.body.__type).toBe('ValidationException');
    expect(error.body.message).toBe(
      "3 validation errors detected: Value '' at 'usageRecords.1.member.dimension' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '-1' at 'usageRecords.1.member.quantity' failed to satisfy constraint: Member must have value greater than or equal to 0; " +
        "Value 'x' at 'usageRecords.2.member.customerAWSAccountId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9]+$",
    );
  });

  it('refuses more than 25 records and a missing list', () => {
    expect(
      caught(() => readBatchMeterUsage({ UsageRecords: Array(26).fill(record()) })).body,
    ).toEqual({
      __type: 'ValidationException',
      message:
        "1 validation error detected: Value '[26 records]' at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to 25",
    });
    expect(caught(() => readBatchMeterUsage({})).body.message).toContain('must not be null');
  });

  it.each([
    ['a string Timestamp', { Timestamp: '2026-05-15T12:00:00Z' }],
    ['a fractional Quantity', { Quantity: 1.5 }],
    ['a numeric Dimension', { Dimension: 7 }],
  ])('answers SerializationException for %s', (_, extra) => {
    expect(caught(() => readBatchMeterUsage({ UsageRecords: [record(extra)] })).body.__type).toBe(
      'SerializationException',
    );
  });
});

describe('readMeterUsage', () => {
  it('needs ProductCode, Timestamp and UsageDimension', () => {
    expect(caught(() => readMeterUsage({})).body.message).toMatch(/^3 validation errors detected/);
    expect(
      readMeterUsage({ ProductCode: 'p', Timestamp: 1, UsageDimension: 'd', DryRun: true }),
    ).toEqual({
      ProductCode: 'p',
      Timestamp: 1,
      UsageDimension: 'd',
      UsageQuantity: 0,
      DryRun: true,
    });
  });
});

describe('checkAllocations', () => {
  const tag = (Key: string, Value = 'v') => ({ Key, Value });

  it('accepts allocations that sum to the quantity, one of them untagged', () => {
    expect(() =>
      checkAllocations(
        10,
        [
          { AllocatedUsageQuantity: 4 },
          { AllocatedUsageQuantity: 6, Tags: [tag('team', 'a b+c-d=e.f_g:h/i@j')] },
        ],
        'r',
      ),
    ).not.toThrow();
  });

  it.each([
    ['a sum off by one', [{ AllocatedUsageQuantity: 9 }], 'InvalidUsageAllocationsException'],
    [
      'a tag set twice',
      [
        { AllocatedUsageQuantity: 5, Tags: [tag('a'), tag('b')] },
        { AllocatedUsageQuantity: 5, Tags: [tag('b'), tag('a')] },
      ],
      'InvalidUsageAllocationsException',
    ],
    [
      'two untagged buckets',
      [{ AllocatedUsageQuantity: 5 }, { AllocatedUsageQuantity: 5 }],
      'InvalidUsageAllocationsException',
    ],
    [
      'six tags',
      [{ AllocatedUsageQuantity: 10, Tags: ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => tag(k)) }],
      'InvalidTagException',
    ],
    ['no tags in a list', [{ AllocatedUsageQuantity: 10, Tags: [] }], 'InvalidTagException'],
    [
      'a key twice',
      [{ AllocatedUsageQuantity: 10, Tags: [tag('a'), tag('a', 'w')] }],
      'InvalidTagException',
    ],
    [
      'a 101-character key',
      [{ AllocatedUsageQuantity: 10, Tags: [tag('k'.repeat(101))] }],
      'InvalidTagException',
    ],
    [
      'an empty value',
      [{ AllocatedUsageQuantity: 10, Tags: [tag('k', '')] }],
      'InvalidTagException',
    ],
    [
      'a character outside the pattern',
      [{ AllocatedUsageQuantity: 10, Tags: [tag('k', 'é')] }],
      'InvalidTagException',
    ],
  ])('refuses %s', (_, allocations, type) => {
    expect(caught(() => checkAllocations(10, allocations, 'UsageRecords[0]')).body).toEqual({
      __type: type,
      message: expect.stringMatching(/^UsageRecords\[0\]: /),
    });
  });
});
