import { addIsoDuration, isIsoDuration } from './iso-duration';

describe('ISO 8601 durations', () => {
  const start = Date.parse('2026-01-15T12:00:00Z');

  it.each([
    ['P1Y', '2027-01-15T12:00:00.000Z'],
    ['P2Y3M', '2028-04-15T12:00:00.000Z'],
    ['P1M', '2026-02-15T12:00:00.000Z'],
    ['P2W', '2026-01-29T12:00:00.000Z'],
    ['P30D', '2026-02-14T12:00:00.000Z'],
    ['PT36H', '2026-01-17T00:00:00.000Z'],
  ])('%s after the start ends at %s', (duration, end) => {
    expect(new Date(addIsoDuration(start, duration)!).toISOString()).toBe(end);
  });

  it.each(['', 'P', '1Y', 'P1.5Y', 'PT', 'P1Y2'])('refuses %j', (text) => {
    expect(isIsoDuration(text)).toBe(false);
    expect(addIsoDuration(start, text)).toBeUndefined();
  });
});
