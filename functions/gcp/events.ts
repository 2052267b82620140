// Pub/Sub push (HTTP) | Eventarc CloudEvent --> handleMarketplaceEvent --> Firestore + Procurement.
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import {
  createJsonLogger,
  handleMarketplaceEvent,
  isRetryable,
  loadGcpEventsConfig,
  type MarketplaceEventCommand,
  recordDeadLetter,
  systemClock,
  ValidationError,
} from '../../shared';
import {
  createGcpMarketplaceFromConfig,
  createOidcVerifier,
  parseMarketplaceMessage,
  pubsubMessageOf,
} from '../../shared/adapters/gcp';
import { createFirestoreStoreFromConfig } from '../../shared/adapters/firestore';
import { storeDeliveringWebhooks } from '../../shared/adapters/webhooks';

const config = loadGcpEventsConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'gcp-events' } });
const marketplace = createGcpMarketplaceFromConfig(config.marketplace);
const deps = {
  store: storeDeliveringWebhooks({
    env: process.env,
    store: createFirestoreStoreFromConfig(config.store),
    clock: systemClock,
    logger,
    eventTtlSeconds: config.eventTtlSeconds,
  }),
  marketplace,
  answering: {
    approvals: marketplace,
    policy: config.policy,
    signupMessage: config.signupMessage,
    logger,
  },
  clock: systemClock,
  logger,
  eventTtlSeconds: config.eventTtlSeconds,
};
const verifyPush = createOidcVerifier({
  certsBaseUrl: config.marketplace.googleCertsUrl,
  audience: config.push.audience,
  serviceAccountEmail: config.push.serviceAccount,
  clock: systemClock,
});

/** `ack`: processed, duplicate or dead-lettered. `retry`: worth delivering again. */
const processMessage = async (body: unknown): Promise<'ack' | 'retry'> => {
  const message = (body as { message?: { messageId?: unknown } } | undefined)?.message;
  const messageId = typeof message?.messageId === 'string' ? message.messageId : 'unknown';
  const log = logger.child({ correlationId: messageId });
  let command: MarketplaceEventCommand;
  try {
    command = parseMarketplaceMessage(pubsubMessageOf(body), config.marketplace.providerId);
  } catch (error) {
    const reason = error instanceof ValidationError ? error.message : 'malformed message';
    const unreadable = {
      cloud: 'gcp' as const,
      eventId: `pubsub:${messageId}`,
      type: 'UNREADABLE',
      payload: body,
    };
    await recordDeadLetter({ ...deps, logger: log }, unreadable, reason);
    return 'ack';
  }
  try {
    await handleMarketplaceEvent({ ...deps, logger: log }, command);
    return 'ack';
  } catch (error) {
    if (isRetryable(error)) {
      log.warn('message will be retried', { error });
      return 'retry';
    }
    const reason = error instanceof ValidationError ? error.message : 'could not be processed';
    await recordDeadLetter({ ...deps, logger: log }, command, reason);
    return 'ack';
  }
};

functions.http('gcpEventsPush', async (req, res) => {
  try {
    await verifyPush(req.get('authorization'));
  } catch (error) {
    logger.warn('push rejected', { error });
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  const outcome = await processMessage(req.body).catch(() => 'retry' as const);
  res.status(outcome === 'ack' ? 204 : 503).end();
});

functions.cloudEvent('gcpEventsCloudEvent', async (event: CloudEvent<unknown>) => {
  // Resolving acknowledges the message; throwing makes Eventarc deliver it again.
  if ((await processMessage(event.data).catch(() => 'retry' as const)) === 'retry') {
    throw new Error('message will be retried');
  }
});
