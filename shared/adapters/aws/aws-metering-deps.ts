import { createRateLimiter } from '../../app/rate-limiter';
import type { MeterUsageDeps } from '../../app/meter-usage-to-aws';
import type { AwsMarketplaceConfig, AwsMeteringConfig } from '../../config/aws-config';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { Store } from '../../ports/store';
import { createAwsUsageMeter } from './aws-usage-meter';
import { createMeteringClient } from './aws-clients';

/**
 * What `meterUsageToAws` runs on, from the validated configuration: the hourly run and the
 * flush after a buyer leaves meter the same way.
 */
export const createAwsMeteringDeps = (input: {
  readonly marketplace: AwsMarketplaceConfig;
  readonly metering: AwsMeteringConfig;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly eventTtlSeconds: number;
}): MeterUsageDeps => ({
  store: input.store,
  meter: createAwsUsageMeter({
    // One request per call: the run paces itself under AWS's quota and retries on its own.
    client: createMeteringClient(input.marketplace, { maxAttempts: 1 }),
    productCode: input.marketplace.productCode,
  }),
  // A bucket of one: AWS's own bucket then always has tokens to spare for network jitter,
  // where one the size of AWS's would run level with it and get a call throttled now and then.
  limiter: createRateLimiter({
    ratePerSecond: input.metering.ratePerSecond,
    burst: 1,
    clock: input.clock,
  }),
  clock: input.clock,
  logger: input.logger,
  eventTtlSeconds: input.eventTtlSeconds,
  zeroDimensions: input.metering.zeroRecords ? input.metering.dimensions : [],
  windowHours: input.metering.windowHours,
});
