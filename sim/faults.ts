import type { SimClock } from './clock';
import type { Random, Seed } from './random';
import { createRandom } from './random';

/**
 * Faults injected into the marketplace API routes (never into `/_sim/*`): throttling, server
 * errors and latency, as the real APIs show them under load. Each cloud turns an outcome into
 * its own error (Google: 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE).
 */
export interface FaultSettings {
  /** Requests per second each API accepts before answering "throttled" (token bucket). */
  readonly throttleRps?: number;
  /** Chance in [0, 1] that a request fails as "unavailable". */
  readonly errorRate?: number;
  /** Latency added before every request is handled. */
  readonly delayMs?: number;
  /** Seed of the error dice; the simulator's seed when unset. */
  readonly seed?: Seed;
  /** Which API the faults apply to: one cloud (`gcp`) or `all` (the default). */
  readonly scope?: string;
}

export type FaultOutcome = 'pass' | 'throttled' | 'unavailable';

export interface Faults {
  /** Replaces the settings; the dice restart from the seed, so a run repeats. */
  configure(settings: FaultSettings): void;
  reset(): void;
  settings(): FaultSettings;
  /** Waits the configured delay, then decides the fate of one request to `api`. */
  apply(api: string): Promise<FaultOutcome>;
}

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

// Unref'd: a delayed request must not keep a stopping process alive.
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref());

export const createFaults = (clock: SimClock, defaultSeed: Seed): Faults => {
  let current: FaultSettings = {};
  let dice: Random = createRandom(`${defaultSeed}:faults`);
  const buckets = new Map<string, Bucket>();

  // A full bucket to start with: a burst up to the rate passes, the request after it does not.
  // It holds at least one token, so a rate below 1 per second still lets requests through.
  const takeToken = (api: string, rps: number): boolean => {
    const nowMs = clock.nowMs();
    const capacity = Math.max(1, rps);
    const bucket = buckets.get(api) ?? { tokens: capacity, refilledAtMs: nowMs };
    bucket.tokens = Math.min(
      capacity,
      bucket.tokens + ((nowMs - bucket.refilledAtMs) / 1000) * rps,
    );
    bucket.refilledAtMs = nowMs;
    buckets.set(api, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  const configure = (settings: FaultSettings): void => {
    current = { ...settings };
    dice = createRandom(`${settings.seed ?? defaultSeed}:faults`);
    buckets.clear();
  };

  return {
    configure,
    reset: () => configure({}),
    settings: () => ({ ...current }),
    apply: async (api) => {
      const scope = current.scope ?? 'all';
      if (scope !== 'all' && scope !== api) return 'pass';
      if (current.delayMs) await sleep(current.delayMs);
      if (current.throttleRps !== undefined && !takeToken(api, current.throttleRps)) {
        return 'throttled';
      }
      // Draw on every request, so the sequence of outcomes depends on the seed alone.
      const roll = dice.next();
      if (current.errorRate !== undefined && roll < current.errorRate) return 'unavailable';
      return 'pass';
    },
  };
};
