import { withWebhookDelivery } from '../../app/deliver-webhooks';
import type { DeliverWebhooksDeps } from '../../app/deliver-webhooks';
import { loadWebhookConfig } from '../../config/webhook-config';
import type { Env } from '../../config/env-schema';
import type { WebhookConfig } from '../../config/webhook-config';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { Store } from '../../ports/store';
import type { WebhookSender } from '../../ports/webhook-sender';
import { createHttpWebhookSender } from './http-webhook-sender';

/** Without endpoints nothing is sent, and there may be no secret to build a real sender with. */
const noEndpoints: WebhookSender = {
  send: () => Promise.reject(new Error('no webhook endpoints are configured')),
};

/**
 * What `deliverWebhooks` runs on, from the validated configuration: the scheduled run and the
 * attempt after each write (`withWebhookDelivery`) deliver the same way.
 */
export const createWebhookDeliveryDeps = (input: {
  readonly webhooks: WebhookConfig;
  /** The store as the adapter made it. */
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly deliveryLogTtlSeconds: number;
}): DeliverWebhooksDeps => ({
  store: input.store,
  clock: input.clock,
  sender:
    input.webhooks.endpoints.length === 0
      ? noEndpoints
      : createHttpWebhookSender({
          secrets: input.webhooks.secrets,
          timeoutMs: input.webhooks.timeoutMs,
          clock: input.clock,
        }),
  endpoints: input.webhooks.endpoints,
  // Jitter only spreads retries out; it needs no cryptographic randomness.
  random: Math.random,
  retryHorizonMs: input.webhooks.retryHorizonMs,
  leaseMs: input.webhooks.leaseMs,
  logger: input.logger,
  deliveryLogTtlSeconds: input.deliveryLogTtlSeconds,
});

/**
 * The store a function that writes uses: each applied write tries to deliver the events it put
 * in the outbox at once (see `withWebhookDelivery`); without `WEBHOOK_URLS`, the store itself.
 *
 * @throws ConfigError naming the WEBHOOK_* variables at fault, at cold start.
 */
export const storeDeliveringWebhooks = (input: {
  readonly env: Env;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly eventTtlSeconds: number;
}): Store =>
  withWebhookDelivery(
    createWebhookDeliveryDeps({
      webhooks: loadWebhookConfig(input.env),
      store: input.store,
      clock: input.clock,
      logger: input.logger,
      deliveryLogTtlSeconds: input.eventTtlSeconds,
    }),
  );
