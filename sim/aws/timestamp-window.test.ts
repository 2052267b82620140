import { hourStartMs, timestampOutOfBounds } from './timestamp-window';

const HOUR_MS = 3_600_000;
const WINDOW = { pastMs: 24 * HOUR_MS, futureMs: 24 * HOUR_MS, monthEndGraceMs: 6 * HOUR_MS };
const at = (iso: string): number => Date.parse(iso);

describe('timestampOutOfBounds', () => {
  const now = at('2026-05-15T12:00:00Z');

  it.each([
    ['now', now],
    ['23:59:59 ago', now - 24 * HOUR_MS + 1000],
    ['24 h ahead', now + 24 * HOUR_MS],
  ])('accepts a record from %s', (_, timestampMs) => {
    expect(timestampOutOfBounds(timestampMs, now, WINDOW)).toBeUndefined();
  });

  it.each([
    ['exactly 24 h ago', now - 24 * HOUR_MS, /24 hours or more/],
    ['a week ago', now - 168 * HOUR_MS, /24 hours or more/],
    ['more than 24 h ahead', now + 24 * HOUR_MS + 1, /ahead/],
  ])('refuses a record from %s', (_, timestampMs, reason) => {
    expect(timestampOutOfBounds(timestampMs, now, WINDOW)).toMatch(reason);
  });

  it('takes last month’s records until 06:00 UTC on the 1st, then none', () => {
    const march31 = at('2026-03-31T23:00:00Z');
    expect(timestampOutOfBounds(march31, at('2026-04-01T05:59:59Z'), WINDOW)).toBeUndefined();
    expect(timestampOutOfBounds(march31, at('2026-04-01T06:00:00Z'), WINDOW)).toMatch(
      /previous billing month.*2026-04-01T06:00:00/,
    );
    // This month's records are not touched by the rule.
    expect(
      timestampOutOfBounds(at('2026-04-01T00:00:00Z'), at('2026-04-01T07:00:00Z'), WINDOW),
    ).toBeUndefined();
    expect(
      timestampOutOfBounds(march31, at('2026-04-01T07:00:00Z'), {
        ...WINDOW,
        monthEndGraceMs: null,
      }),
    ).toBeUndefined();
  });

  it('honours a narrower window (older documentation: 6 hours)', () => {
    const narrow = { ...WINDOW, pastMs: 6 * HOUR_MS };
    expect(timestampOutOfBounds(now - 6 * HOUR_MS, now, narrow)).toMatch(/6 hours or more/);
  });
});

describe('hourStartMs', () => {
  it('floors to the UTC hour', () => {
    expect(hourStartMs(at('2026-05-15T12:59:59.999Z'))).toBe(at('2026-05-15T12:00:00Z'));
    expect(hourStartMs(at('2026-05-15T12:00:00Z'))).toBe(at('2026-05-15T12:00:00Z'));
  });
});
