// EventBridge schedule (every minute) --> deliverWebhooks --> POST to WEBHOOK_URLS: the events
// each write could not deliver at once, retried with backoff, in order per purchase.
import type { ScheduledEvent } from 'aws-lambda';
import { createJsonLogger, systemClock } from '../../shared';
import { deliverWebhooks } from '../../shared/app/deliver-webhooks';
import type { DeliverWebhooksResult } from '../../shared/app/deliver-webhooks';
import { loadWebhookFunctionConfig } from '../../shared/config/webhook-config';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';
import { createWebhookDeliveryDeps } from '../../shared/adapters/webhooks';

/** The schedule ticks every minute: a run stops claiming before the next tick is due. */
const RUN_BUDGET_MS = 45_000;

const config = loadWebhookFunctionConfig(process.env, 'aws');
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'aws-webhooks' } });
const deps = createWebhookDeliveryDeps({
  webhooks: config.webhooks,
  store: createDynamoDbStoreFromConfig(config.store),
  clock: systemClock,
  logger,
  deliveryLogTtlSeconds: config.eventTtlSeconds,
});

/** A failed run throws; the next tick does the same work, claimed events wait for their lease. */
export const handler = async (event?: Partial<ScheduledEvent>): Promise<DeliverWebhooksResult> => {
  const result = await deliverWebhooks(deps, { budgetMs: RUN_BUDGET_MS });
  logger.info('webhook run finished', { scheduledAt: event?.time ?? null, ...result });
  return result;
};
