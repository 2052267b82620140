// Cloud Scheduler, hourly (OIDC) --> reportUsageToServiceControl --> Service Control + Firestore.
import * as functions from '@google-cloud/functions-framework';
import {
  createJsonLogger,
  isRetryable,
  loadGcpUsageConfig,
  reportUsageToServiceControl,
  systemClock,
} from '../../shared';
import { createOidcVerifier, createServiceControlClient } from '../../shared/adapters/gcp';
import { createFirestoreStoreFromConfig } from '../../shared/adapters/firestore';
import { storeDeliveringWebhooks } from '../../shared/adapters/webhooks';

const config = loadGcpUsageConfig(process.env);
const logger = createJsonLogger({
  level: config.logLevel,
  fields: { function: 'gcp-usage-report' },
});
const deps = {
  store: storeDeliveringWebhooks({
    env: process.env,
    store: createFirestoreStoreFromConfig(config.store),
    clock: systemClock,
    logger,
    eventTtlSeconds: config.eventTtlSeconds,
  }),
  reporter: createServiceControlClient({
    serviceName: config.serviceName,
    baseUrl: config.serviceControlApiUrl,
  }),
  clock: systemClock,
  logger,
  metrics: config.metrics,
  eventTtlSeconds: config.eventTtlSeconds,
};
const verifyScheduler = createOidcVerifier({
  certsBaseUrl: config.googleCertsUrl,
  audience: config.scheduler.audience,
  serviceAccountEmail: config.scheduler.serviceAccount,
  clock: systemClock,
});

functions.http('gcpUsageReport', async (req, res) => {
  try {
    await verifyScheduler(req.get('authorization'));
  } catch (error) {
    logger.warn('scheduler call rejected', { error });
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  try {
    const result = await reportUsageToServiceControl(deps);
    res.status(200).json(result);
  } catch (error) {
    logger.error('usage report failed', { error });
    // Scheduler retries a failed run; what was sent stays sent, sealed hours are re-sent as they are.
    res.status(isRetryable(error) ? 503 : 500).json({ error: 'usage_report_failed' });
  }
});
