// Cloud Scheduler, daily (OIDC) --> purgeEndedPurchases --> Firestore: personal data of purchases
// ended longer than PERSONAL_DATA_RETENTION_DAYS ago (counted from their end), and of every
// purchase of a deleted account it comes across, is purged; an anonymised audit stays.
import * as functions from '@google-cloud/functions-framework';
import {
  createJsonLogger,
  isRetryable,
  loadGcpScheduledConfig,
  loadRetentionConfig,
  purgeEndedPurchases,
  systemClock,
} from '../../shared';
import { createOidcVerifier } from '../../shared/adapters/gcp';
import { createFirestoreStoreFromConfig } from '../../shared/adapters/firestore';

const config = loadRetentionConfig(process.env, 'gcp');
const scheduled = loadGcpScheduledConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'gcp-retention' } });
const deps = {
  store: createFirestoreStoreFromConfig(config.store),
  clock: systemClock,
  logger,
  retentionMs: config.retentionMs,
  auditTtlSeconds: config.eventTtlSeconds,
};
const verifyScheduler = createOidcVerifier({
  certsBaseUrl: scheduled.googleCertsUrl,
  audience: scheduled.scheduler.audience,
  serviceAccountEmail: scheduled.scheduler.serviceAccount,
  clock: systemClock,
});

functions.http('gcpRetention', async (req, res) => {
  try {
    await verifyScheduler(req.get('authorization'));
  } catch (error) {
    logger.warn('scheduler call rejected', { error });
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  try {
    res.status(200).json(await purgeEndedPurchases(deps));
  } catch (error) {
    logger.error('retention run failed', { error });
    // A failed run is safe to repeat: what was purged stays purged, the rest is purged next time.
    res.status(isRetryable(error) ? 503 : 500).json({ error: 'retention_failed' });
  }
});
