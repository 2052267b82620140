/**
 * Time for the simulator. Resource `updateTime`s must strictly increase on every change (the
 * functions order snapshots by them), and two changes can land in the same millisecond, so
 * `tick()` never returns the same instant twice.
 */
export interface SimClock {
  /** Wall time in epoch milliseconds, as the injected source says. */
  nowMs(): number;
  /** A change's timestamp: now, or 1 ms after the previous tick if now has not moved on. */
  tick(): Date;
}

export const createSimClock = (now: () => number = Date.now): SimClock => {
  let lastTickMs = 0;
  return {
    nowMs: now,
    tick: () => {
      lastTickMs = Math.max(now(), lastTickMs + 1);
      return new Date(lastTickMs);
    },
  };
};

/** RFC 3339 in UTC with milliseconds, as Google's JSON APIs print timestamps. */
export const rfc3339 = (epochMs: number): string => new Date(epochMs).toISOString();
