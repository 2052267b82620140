import { deliverRightAway, withWebhookDelivery } from '../../../app/deliver-webhooks';
import type { ApiKeyEntry, VendorApiConfig } from '../../../config/vendor-config';
import type { UsageIngestConfig } from '../../../config/usage-config';
import type { Clock } from '../../../ports/clock';
import type { Logger } from '../../../ports/logger';
import type { Store } from '../../../ports/store';
import { createWebhookDeliveryDeps } from '../../webhooks/webhook-delivery-deps';

/** What the vendor API runs on, built once at cold start by each platform's entry point. */
export interface VendorApiDeps {
  /** The store; writes through it try to deliver the events they wrote at once, when configured. */
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly apiKeys: readonly ApiKeyEntry[];
  /** The largest request body read; larger ones are answered 413. */
  readonly maxRequestBytes: number;
  /** How long the audit record of an admin's change is kept. */
  readonly eventTtlSeconds: number;
  readonly usage: UsageIngestConfig;
  /** A new unique id (audit records of links and unlinks, correlation ids). */
  readonly newId: () => string;
  /** Tries to deliver replayed events at once; without it the scheduled run delivers them. */
  readonly deliverNow?: (ids: readonly string[]) => Promise<void>;
}

/**
 * The deps from the validated configuration and the platform's store. With webhook endpoints
 * configured, what a link or unlink writes and what a replay resets is delivered at once (the
 * scheduled run retries what fails); without, events wait for the scheduled run or the log.
 */
export const createVendorApiDeps = (input: {
  readonly config: VendorApiConfig;
  /** The store as the adapter made it. */
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newId: () => string;
}): VendorApiDeps => {
  const { config, clock, logger } = input;
  const delivery = createWebhookDeliveryDeps({
    webhooks: config.webhooks,
    store: input.store,
    clock,
    logger,
    deliveryLogTtlSeconds: config.eventTtlSeconds,
  });
  const deliverNow = (ids: readonly string[]) => deliverRightAway(delivery, ids);
  return {
    store: withWebhookDelivery(delivery),
    clock,
    logger,
    apiKeys: config.apiKeys,
    maxRequestBytes: config.maxRequestBytes,
    eventTtlSeconds: config.eventTtlSeconds,
    usage: config.usage,
    newId: input.newId,
    ...(config.webhooks.endpoints.length > 0 ? { deliverNow } : {}),
  };
};
