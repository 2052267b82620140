import type { Clock } from '../ports/clock';

/**
 * A token bucket: at most `ratePerSecond` acquisitions a second on average, with bursts up to
 * `burst`. AWS's metering quota is 10 requests a second per account and region.
 */
export const createRateLimiter = (options: {
  readonly ratePerSecond: number;
  readonly burst?: number;
  readonly clock: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
}) => {
  const capacity = options.burst ?? Math.max(1, Math.floor(options.ratePerSecond));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let tokens = capacity;
  let refilledAtMs = options.clock.now();
  const refill = () => {
    const now = options.clock.now();
    tokens = Math.min(capacity, tokens + ((now - refilledAtMs) / 1000) * options.ratePerSecond);
    refilledAtMs = now;
  };
  return {
    /** Resolves when a request may go out. */
    acquire: async (): Promise<void> => {
      for (;;) {
        refill();
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await sleep(Math.ceil(((1 - tokens) / options.ratePerSecond) * 1000));
      }
    },
  };
};

export type RateLimiter = ReturnType<typeof createRateLimiter>;
