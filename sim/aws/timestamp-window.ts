/**
 * When the Metering Service accepts a usage record's `Timestamp`: less than 24 hours old (the
 * current API reference; older pages say 6 h or 1 h), not too far ahead, and — the month-end
 * rule — a previous month's record only until 06:00 UTC on the 1st, whatever its age.
 */
export interface MeteringWindow {
  readonly pastMs: number;
  readonly futureMs: number;
  /** `null`: no month-end rule. */
  readonly monthEndGraceMs: number | null;
}

export const HOUR_MS = 3_600_000;

/** The start of the UTC hour holding `epochMs`: the dedupe bucket of a usage record. */
export const hourStartMs = (epochMs: number): number => Math.floor(epochMs / HOUR_MS) * HOUR_MS;

/** Why the record's time is refused, or `undefined` when it is accepted. */
export const timestampOutOfBounds = (
  timestampMs: number,
  nowMs: number,
  window: MeteringWindow,
): string | undefined => {
  if (nowMs - timestampMs >= window.pastMs) {
    return `usage records are not accepted ${window.pastMs / HOUR_MS} hours or more after the event`;
  }
  if (timestampMs - nowMs > window.futureMs) {
    return `usage records are not accepted more than ${window.futureMs / HOUR_MS} hours ahead`;
  }
  if (window.monthEndGraceMs !== null) {
    const now = new Date(nowMs);
    const monthStartMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    if (timestampMs < monthStartMs && nowMs >= monthStartMs + window.monthEndGraceMs) {
      return `usage records for the previous billing month are not accepted after ${new Date(
        monthStartMs + window.monthEndGraceMs,
      ).toISOString()}`;
    }
  }
  return undefined;
};
