import { createAwsUsageMeter } from '../../shared/adapters/aws/aws-usage-meter';
import { createJsonLogger } from '../../shared/adapters/logging/json-logger';
import type { MeterUsageDeps } from '../../shared/app/meter-usage-to-aws';
import { createRateLimiter } from '../../shared/app/rate-limiter';
import type { Store } from '../../shared/ports/store';
import { meteringClient } from '../../sim/aws/testing/sdk-clients';
import { createSimulator } from '../../sim/server';
import type { Simulator } from '../../sim/server';

/** The product the metering suites bill, a code of AWS's shape. */
export const METERED_PRODUCT = 'demo0product0code0local01';

/**
 * A simulator without AWS's quota of 10 calls a second: these suites count the calls and their
 * records, and pacing them would only make the suites slower.
 */
export const startUnpacedSimulator = (): Promise<Simulator> =>
  createSimulator({ aws: { requestsPerSecond: 0 } } as Parameters<typeof createSimulator>[0]);

/**
 * What `meterUsageToAws` needs, against the simulator: one attempt a call (a refusal is seen at
 * once), no pacing and no waits, no zero records, quiet logs.
 */
export const simulatedMeteringDeps = (
  sim: Simulator,
  store: Store,
  options: { readonly productCode?: string; readonly windowHours?: number } = {},
): MeterUsageDeps => ({
  store,
  meter: createAwsUsageMeter({
    client: meteringClient(sim.url, { maxAttempts: 1 }),
    productCode: options.productCode ?? METERED_PRODUCT,
  }),
  limiter: createRateLimiter({ ratePerSecond: 1_000, clock: { now: Date.now } }),
  clock: { now: Date.now },
  logger: createJsonLogger({ level: 'error', write: () => undefined }),
  eventTtlSeconds: 3_600,
  zeroDimensions: [],
  windowHours: options.windowHours ?? 24,
  sleep: async () => undefined,
});
