import { MarketplaceEntitlementServiceClient } from '@aws-sdk/client-marketplace-entitlement-service';
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import type { AwsMarketplaceConfig } from '../../config/aws-config';

/** AWS serves the Entitlement Service in us-east-1 only. */
const ENTITLEMENT_REGION = 'us-east-1';

const endpointOf = (config: AwsMarketplaceConfig) =>
  config.endpoint === undefined ? {} : { endpoint: config.endpoint };

/**
 * The Metering Service client (ResolveCustomer, BatchMeterUsage) in the function's region.
 * Pass `maxAttempts: 1` where the caller paces and retries calls itself (metering).
 */
export const createMeteringClient = (
  config: AwsMarketplaceConfig,
  options: { readonly maxAttempts?: number } = {},
): MarketplaceMeteringClient =>
  new MarketplaceMeteringClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...endpointOf(config),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });

/** The Entitlement Service client (GetEntitlements). */
export const createEntitlementClient = (
  config: AwsMarketplaceConfig,
): MarketplaceEntitlementServiceClient =>
  new MarketplaceEntitlementServiceClient({ region: ENTITLEMENT_REGION, ...endpointOf(config) });
