import { MarketplaceEntitlementServiceClient } from '@aws-sdk/client-marketplace-entitlement-service';
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';

/**
 * The official AWS SDK v3 marketplace clients pointed at the simulator: only `endpoint`,
 * dummy credentials and the region differ from production. `maxAttempts: 1` turns the SDK's
 * own retries off, so a test sees the first answer (a throttle, a 500) as it is.
 */
export interface SimClientOptions {
  readonly maxAttempts?: number;
  readonly region?: string;
}

const config = (url: string, options: SimClientOptions) => ({
  endpoint: url,
  region: options.region ?? 'us-east-1',
  credentials: { accessKeyId: 'AKIASIMULATOR000000', secretAccessKey: 'simulated' },
  ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
});

export const meteringClient = (url: string, options: SimClientOptions = {}) =>
  new MarketplaceMeteringClient(config(url, options));

export const entitlementClient = (url: string, options: SimClientOptions = {}) =>
  new MarketplaceEntitlementServiceClient(config(url, options));
