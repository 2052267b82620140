import { MAX_USAGE_QUANTITY } from '../domain/limits';
import { usageRecordSchema } from './ingest-usage';

const A_RECORD = {
  usageId: 'req-2026-11-22/0001',
  entitlementId: 'aws:arn:aws:license-manager::123456789012:license:l-1',
  dimension: 'requests',
  quantity: 3,
  timestamp: '2026-11-22T10:15:00Z',
};

const problemOf = (record: unknown): { path: string; message: string } | null => {
  const result = usageRecordSchema.safeParse(record);
  if (result.success) return null;
  const [issue] = result.error.issues;
  return { path: (issue?.path ?? []).join('.'), message: issue?.message ?? '' };
};

describe('usageRecordSchema', () => {
  it.each([
    ['a record naming its entitlement', A_RECORD],
    ['a record naming its tenant', { ...A_RECORD, entitlementId: undefined, tenantId: 't-1' }],
    ['a quantity of 0', { ...A_RECORD, quantity: 0 }],
    ['the largest quantity AWS takes', { ...A_RECORD, quantity: MAX_USAGE_QUANTITY }],
    ['a time with an offset', { ...A_RECORD, timestamp: '2026-11-22T11:15:00.250+01:00' }],
    [
      'allocations summing to the quantity, one of them untagged',
      {
        ...A_RECORD,
        allocations: [{ tags: { team: 'a', env: 'prod' }, quantity: 2 }, { quantity: 1 }],
      },
    ],
  ])('takes %s', (_case, record) => {
    expect(problemOf(record)).toBeNull();
  });

  it.each([
    ['no usage id', { ...A_RECORD, usageId: undefined }, 'usageId'],
    ['an empty usage id', { ...A_RECORD, usageId: '' }, 'usageId'],
    ['a usage id of 129 characters', { ...A_RECORD, usageId: 'u'.repeat(129) }, 'usageId'],
    ['a usage id with #', { ...A_RECORD, usageId: 'u#1' }, 'usageId'],
    ['neither entitlement nor tenant', { ...A_RECORD, entitlementId: undefined }, 'entitlementId'],
    ['both entitlement and tenant', { ...A_RECORD, tenantId: 't-1' }, 'tenantId'],
    ['an id of no cloud', { ...A_RECORD, entitlementId: 'azure:sub-1' }, 'entitlementId'],
    ['an id without a cloud', { ...A_RECORD, entitlementId: 'l-1' }, 'entitlementId'],
    ['a tenant with spaces around', { ...A_RECORD, tenantId: ' t ' }, 'tenantId'],
    [
      'a tenant id with a slash, which no tenant has',
      { ...A_RECORD, entitlementId: undefined, tenantId: 'a/b' },
      'tenantId',
    ],
    ['an empty dimension', { ...A_RECORD, dimension: '' }, 'dimension'],
    ['a negative quantity', { ...A_RECORD, quantity: -1 }, 'quantity'],
    ['a fractional quantity', { ...A_RECORD, quantity: 0.5 }, 'quantity'],
    ['a quantity as text', { ...A_RECORD, quantity: '3' }, 'quantity'],
    ['a quantity AWS cannot take', { ...A_RECORD, quantity: MAX_USAGE_QUANTITY + 1 }, 'quantity'],
    ['a time without a zone', { ...A_RECORD, timestamp: '2026-11-22T10:15:00' }, 'timestamp'],
    ['epoch milliseconds', { ...A_RECORD, timestamp: 1_795_342_500_000 }, 'timestamp'],
    ['an unknown field', { ...A_RECORD, colour: 'blue' }, ''],
    ['no allocation', { ...A_RECORD, allocations: [] }, 'allocations'],
    [
      'allocations not summing to the quantity',
      { ...A_RECORD, allocations: [{ tags: { team: 'a' }, quantity: 2 }] },
      'allocations',
    ],
    [
      'a tag set given twice',
      {
        ...A_RECORD,
        allocations: [
          { tags: { team: 'a', env: 'x' }, quantity: 2 },
          { tags: { env: 'x', team: 'a' }, quantity: 1 },
        ],
      },
      'allocations.1.tags',
    ],
    [
      'two untagged allocations',
      { ...A_RECORD, allocations: [{ quantity: 2 }, { quantity: 1 }] },
      'allocations.1.tags',
    ],
    [
      'six tags',
      {
        ...A_RECORD,
        allocations: [{ tags: { a: '1', b: '1', c: '1', d: '1', e: '1', f: '1' }, quantity: 3 }],
      },
      'allocations.0.tags',
    ],
    [
      'a tag value of 257 characters',
      { ...A_RECORD, allocations: [{ tags: { team: 'x'.repeat(257) }, quantity: 3 }] },
      'allocations.0.tags',
    ],
    [
      'a tag key outside the pattern',
      { ...A_RECORD, allocations: [{ tags: { 'team?': 'a' }, quantity: 3 }] },
      'allocations.0.tags',
    ],
    ['empty tags', { ...A_RECORD, allocations: [{ tags: {}, quantity: 3 }] }, 'allocations.0.tags'],
  ])('refuses %s', (_case, record, path) => {
    expect(problemOf(record)).toMatchObject({ path });
  });
});
