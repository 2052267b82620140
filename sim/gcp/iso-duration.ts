/**
 * ISO 8601 durations as offers state their terms (`P1Y`, `P2Y3M`, `P30D`), added to a date
 * by the calendar in UTC, so a one-month term that starts on 31 January ends on 3 March
 * (JavaScript's own month overflow); good enough for a simulated term.
 */
const PATTERN =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export const isIsoDuration = (text: string): boolean =>
  text !== 'P' && !text.endsWith('T') && PATTERN.test(text);

/** `startMs` plus the duration; `undefined` for text that is not an ISO 8601 duration. */
export const addIsoDuration = (startMs: number, duration: string): number | undefined => {
  if (!isIsoDuration(duration)) return undefined;
  const [, years, months, weeks, days, hours, minutes, seconds] = (
    PATTERN.exec(duration) ?? []
  ).map((part) => Number(part ?? 0));
  const date = new Date(startMs);
  date.setUTCFullYear(date.getUTCFullYear() + (years ?? 0));
  date.setUTCMonth(date.getUTCMonth() + (months ?? 0));
  date.setUTCDate(date.getUTCDate() + (weeks ?? 0) * 7 + (days ?? 0));
  return date.getTime() + (((hours ?? 0) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)) * 1000;
};
