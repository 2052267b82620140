import {
  HOUR_MS,
  hourStartEpochMs,
  hoursBetween,
  isHourClosed,
  isHourStart,
  lastClosedHourStartEpochMs,
  toEpochSeconds,
  toIsoHour,
} from './time';

const at = (iso: string) => Date.parse(iso);

describe('hour math', () => {
  it.each([
    ['2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:59:59.999Z', '2026-11-22T10:00:00.000Z'],
    ['2026-12-31T23:30:00.000Z', '2026-12-31T23:00:00.000Z'],
    ['1970-01-01T00:00:00.001Z', '1970-01-01T00:00:00.000Z'],
  ])('puts %s in the hour starting %s', (time, start) => {
    expect(toIsoHour(hourStartEpochMs(at(time)))).toBe(start);
  });

  it('closes an hour exactly at its end', () => {
    const hour = at('2026-11-22T10:00:00Z');
    expect(isHourClosed(hour, hour + HOUR_MS - 1)).toBe(false);
    expect(isHourClosed(hour, hour + HOUR_MS)).toBe(true);
    expect(lastClosedHourStartEpochMs(at('2026-11-22T11:00:00Z'))).toBe(hour);
    expect(lastClosedHourStartEpochMs(at('2026-11-22T11:59:00Z'))).toBe(hour);
  });

  it('recognises hour starts', () => {
    expect(isHourStart(at('2026-11-22T10:00:00Z'))).toBe(true);
    expect(isHourStart(at('2026-11-22T10:00:01Z'))).toBe(false);
    expect(isHourStart(Number.NaN)).toBe(false);
  });

  it('lists the hours across a month end', () => {
    const hours = hoursBetween(at('2026-11-30T22:10:00Z'), at('2026-12-01T01:00:00Z')).map(
      toIsoHour,
    );
    expect(hours).toEqual([
      '2026-11-30T22:00:00.000Z',
      '2026-11-30T23:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
    ]);
  });

  it('converts to epoch seconds by flooring', () => {
    expect(toEpochSeconds(1_999)).toBe(1);
  });
});
