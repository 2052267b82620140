// Cloud Scheduler, every minute (OIDC) --> deliverWebhooks --> POST to WEBHOOK_URLS: the events
// each write could not deliver at once, retried with backoff, in order per purchase.
import * as functions from '@google-cloud/functions-framework';
import { createJsonLogger, isRetryable, loadGcpScheduledConfig, systemClock } from '../../shared';
import { deliverWebhooks } from '../../shared/app/deliver-webhooks';
import { loadWebhookFunctionConfig } from '../../shared/config/webhook-config';
import { createOidcVerifier } from '../../shared/adapters/gcp';
import { createFirestoreStoreFromConfig } from '../../shared/adapters/firestore';
import { createWebhookDeliveryDeps } from '../../shared/adapters/webhooks';

/** The schedule ticks every minute: a run stops claiming before the next tick is due. */
const RUN_BUDGET_MS = 45_000;

const config = loadWebhookFunctionConfig(process.env, 'gcp');
const scheduled = loadGcpScheduledConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'gcp-webhooks' } });
const deps = createWebhookDeliveryDeps({
  webhooks: config.webhooks,
  store: createFirestoreStoreFromConfig(config.store),
  clock: systemClock,
  logger,
  deliveryLogTtlSeconds: config.eventTtlSeconds,
});
const verifyScheduler = createOidcVerifier({
  certsBaseUrl: scheduled.googleCertsUrl,
  audience: scheduled.scheduler.audience,
  serviceAccountEmail: scheduled.scheduler.serviceAccount,
  clock: systemClock,
});

functions.http('gcpWebhooks', async (req, res) => {
  try {
    await verifyScheduler(req.get('authorization'));
  } catch (error) {
    logger.warn('scheduler call rejected', { error });
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  try {
    const result = await deliverWebhooks(deps, { budgetMs: RUN_BUDGET_MS });
    logger.info('webhook run finished', { ...result });
    res.status(200).json(result);
  } catch (error) {
    logger.error('webhook run failed', { error });
    // What was delivered stays acknowledged; claimed events come round again after their lease.
    res.status(isRetryable(error) ? 503 : 500).json({ error: 'webhook_run_failed' });
  }
});
