import { UsageHourTotalTooLargeError, ValidationError } from './errors';
import {
  MAX_ITEM_BYTES,
  MAX_USAGE_QUANTITY,
  assertHourTotalRoom,
  assertInteger,
  assertItemSize,
  assertKey,
} from './limits';

describe('store limits', () => {
  it.each([
    ['arn:aws:license-manager::123456789012:license/l-abc', true],
    ['ünïcode-id', true],
    ['', false],
    [' padded', false],
    ['tab\tinside', false],
    ['\u0085next-line', false],
    ['x'.repeat(512), true],
    ['x'.repeat(513), false],
    ['é'.repeat(257), false],
  ])('accepts %j as a key: %s', (value, ok) => {
    const act = () => assertKey(value, 'id');
    if (ok) expect(act()).toBe(value);
    else expect(act).toThrow(ValidationError);
  });

  it('rejects non-strings as keys and names the path', () => {
    expect(() => assertKey(42, 'entitlement.id')).toThrow(
      expect.objectContaining({ path: 'entitlement.id' }),
    );
  });

  it('rejects an item larger than the limit', () => {
    expect(() => assertItemSize({ data: 'x'.repeat(MAX_ITEM_BYTES) }, 'item')).toThrow(
      ValidationError,
    );
    expect(() => assertItemSize({ data: 'x'.repeat(1000) }, 'item')).not.toThrow();
  });

  it.each([
    [0, true],
    [2_147_483_647, true],
    [-1, false],
    [1.5, false],
    [Number.NaN, false],
    ['3', false],
  ])('checks %p as an integer quantity: %s', (value, ok) => {
    const act = () => assertInteger(value, 'quantity', 0, 2_147_483_647);
    if (ok) expect(act()).toBe(value);
    else expect(act).toThrow(ValidationError);
  });

  it('refuses the first record that would take an hour past the most a marketplace takes', () => {
    const records = [
      { quantity: 1_000_000_000, path: 'records[0]' },
      { quantity: 1_000_000_000, path: 'records[1]' },
      { quantity: 2, path: 'records[2]' },
    ];
    expect(() => assertHourTotalRoom(MAX_USAGE_QUANTITY - 2_000_000_002, records)).not.toThrow();
    const act = () => assertHourTotalRoom(MAX_USAGE_QUANTITY - 2_000_000_001, records);
    expect(act).toThrow(UsageHourTotalTooLargeError);
    expect(act).toThrow(expect.objectContaining({ path: 'records[2]' }));
    expect(() =>
      assertHourTotalRoom(MAX_USAGE_QUANTITY, [{ quantity: 0, path: 'r' }]),
    ).not.toThrow();
  });
});
