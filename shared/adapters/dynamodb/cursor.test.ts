import { ValidationError } from '../../domain/errors';
import { decodeCursor, encodeCursor } from './cursor';
import { BASE_TABLE, INDEXES } from './table';

const key = { pk: 'ENT#gcp#e1', sk: 'ENT', gsi2pk: 'TENANT#t1', gsi2sk: 'ENT#gcp#e1' };

describe('listing cursors', () => {
  it('round-trip the last evaluated key', () => {
    expect(decodeCursor(encodeCursor(key), INDEXES.byTenant, 'TENANT#t1')).toEqual(key);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['an empty string', ''],
    ['another partition', encodeCursor({ ...key, gsi2pk: 'TENANT#t2' })],
    ['another index', encodeCursor({ pk: 'a', sk: 'b', gsi1pk: 'TENANT#t1', gsi1sk: 'c' })],
    ['an extra attribute', encodeCursor({ ...key, extra: 'x' })],
    ['a non-string value', encodeCursor({ ...key, sk: { S: 'ENT' } })],
    ['an array', encodeCursor([1] as unknown as Record<string, unknown>)],
  ])('refuse %s', (_, cursor) => {
    expect(() => decodeCursor(cursor, INDEXES.byTenant, 'TENANT#t1')).toThrow(ValidationError);
  });

  it('refuse a sort key the listing does not hold', () => {
    const inEntitlements = (sortKey: string) => sortKey.startsWith('ENT#');
    expect(decodeCursor(encodeCursor(key), INDEXES.byTenant, 'TENANT#t1', inEntitlements)).toEqual(
      key,
    );
    const account = encodeCursor({ ...key, gsi2sk: 'ACCT#gcp#a1' });
    expect(() => decodeCursor(account, INDEXES.byTenant, 'TENANT#t1', inEntitlements)).toThrow(
      ValidationError,
    );
  });

  it('take a base-table key, which names pk and sk once', () => {
    const tableKey = { pk: 'OUT#m1', sk: 'DLV#0000000000000001#0000000000000001#e1' };
    expect(decodeCursor(encodeCursor(tableKey), BASE_TABLE, 'OUT#m1')).toEqual(tableKey);
    expect(() => decodeCursor(encodeCursor(key), BASE_TABLE, 'ENT#gcp#e1')).toThrow(
      ValidationError,
    );
  });
});
