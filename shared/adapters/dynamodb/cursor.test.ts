import { ValidationError } from '../../domain/errors';
import { decodeCursor, encodeCursor } from './cursor';
import { INDEXES } from './table';

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
});
