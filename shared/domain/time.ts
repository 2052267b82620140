/**
 * UTC hour math. Usage is billed per hour, timestamped at the hour's start, and an hour may
 * be sent only once it has closed. Every function takes the time as an argument: the clock
 * is injected by the caller (`deps.clock`), never read here.
 */

export const HOUR_MS = 60 * 60 * 1000;

/** The start of the UTC hour that contains `epochMs`. */
export const hourStartEpochMs = (epochMs: number): number =>
  Math.floor(epochMs / HOUR_MS) * HOUR_MS;

/** True when the hour starting at `hourStart` has ended at `nowEpochMs`. */
export const isHourClosed = (hourStart: number, nowEpochMs: number): boolean =>
  hourStart + HOUR_MS <= nowEpochMs;

/** The start of the most recent hour that has closed at `nowEpochMs`. */
export const lastClosedHourStartEpochMs = (nowEpochMs: number): number =>
  hourStartEpochMs(nowEpochMs) - HOUR_MS;

/** `2026-11-22T13:00:00.000Z`: sortable, so it doubles as a storage sort key. */
export const toIsoHour = (hourStart: number): string => new Date(hourStart).toISOString();

/** True when `epochMs` is exactly the start of an hour. */
export const isHourStart = (epochMs: number): boolean =>
  Number.isSafeInteger(epochMs) && epochMs % HOUR_MS === 0;

/** The hour starts from `fromHourStart` (inclusive) to `toHourStart` (exclusive). */
export const hoursBetween = (fromHourStart: number, toHourStart: number): number[] => {
  const hours: number[] = [];
  for (let hour = hourStartEpochMs(fromHourStart); hour < toHourStart; hour += HOUR_MS) {
    hours.push(hour);
  }
  return hours;
};

/** Epoch seconds, the unit DynamoDB TTL and Firestore TTL policies expect. */
export const toEpochSeconds = (epochMs: number): number => Math.floor(epochMs / 1000);
