// SQS batch (SNS envelope | raw SNS | EventBridge) --> verify --> handleMarketplaceEvent --> DynamoDB;
// a buyer leaving --> meter their last hours at once. Retryable failures --> batchItemFailures.
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  byteLength,
  createJsonLogger,
  handleMarketplaceEvent,
  isRetryable,
  LifecycleEvent,
  loadAwsNotificationsConfig,
  meterUsageToAws,
  recordDeadLetter,
  systemClock,
  UnauthorizedError,
  ValidationError,
} from '../../shared';
import type { Logger, MarketplaceEventCommand } from '../../shared';
import {
  createAwsMarketplaceObserver,
  createAwsMeteringDeps,
  createEntitlementClient,
  createSnsVerifier,
  parseSqsRecord,
  toMarketplaceEventCommand,
} from '../../shared/adapters/aws';
import type { AwsMarketplaceNotification } from '../../shared/adapters/aws';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';
import { storeDeliveringWebhooks } from '../../shared/adapters/webhooks';

const config = loadAwsNotificationsConfig(process.env);
const logger = createJsonLogger({
  level: config.logLevel,
  fields: { function: 'aws-notifications' },
});
const store = storeDeliveringWebhooks({
  env: process.env,
  store: createDynamoDbStoreFromConfig(config.store),
  clock: systemClock,
  logger,
  eventTtlSeconds: config.eventTtlSeconds,
});
const deps = {
  store,
  marketplace: createAwsMarketplaceObserver({
    client: createEntitlementClient(config.marketplace),
    clock: systemClock,
  }),
  clock: systemClock,
  logger,
  eventTtlSeconds: config.eventTtlSeconds,
};
const verifySns =
  config.snsTopicArns.length > 0
    ? createSnsVerifier({
        topicArns: config.snsTopicArns,
        ...(config.snsCertificateHost ? { certificateHost: config.snsCertificateHost } : {}),
        clock: systemClock,
      })
    : null;
const meteringDeps = createAwsMeteringDeps({ ...config, store, clock: systemClock, logger });

/** A buyer leaving: AWS takes final records for about an hour, so they go now. */
const LEAVING: ReadonlySet<LifecycleEvent | null> = new Set([
  LifecycleEvent.cancellationScheduled,
  LifecycleEvent.cancelled,
]);

/** Checks an SNS message's signature. @throws UnauthorizedError when it cannot be trusted. */
const verify = async (notification: AwsMarketplaceNotification): Promise<void> => {
  if (notification.kind !== 'sns') return;
  if (verifySns === null) {
    throw new UnauthorizedError('SNS messages are not accepted: SNS_TOPIC_ARNS is empty');
  }
  await verifySns(notification.envelope);
};

/** Why a notification is refused before it is handled, or `null` when it may be handled. */
const refusal = (notification: AwsMarketplaceNotification): string | null =>
  notification.productCode !== null && notification.productCode !== config.marketplace.productCode
    ? `product ${notification.productCode} is not this listing's`
    : null;

/**
 * The body kept with a record that cannot be read: whole when small, its start otherwise. SQS
 * bodies reach 1 MiB and escaping one as JSON can make it six times longer, while the record
 * must fit the store: one that does not would be retried to the dead-letter queue instead.
 */
const MAX_KEPT_BODY_CHARACTERS = 32 * 1024;
const keptBody = (body: string): unknown =>
  body.length <= MAX_KEPT_BODY_CHARACTERS
    ? body
    : { bytes: byteLength(body), start: body.slice(0, MAX_KEPT_BODY_CHARACTERS) };

const deadLetter = (log: Logger, message: Parameters<typeof recordDeadLetter>[1], reason: string) =>
  recordDeadLetter({ ...deps, logger: log }, message, reason);

/** `ack`: handled, duplicate or recorded as a dead letter. `retry`: worth delivering again. */
const processRecord = async (record: SQSRecord): Promise<'ack' | 'retry'> => {
  const log = logger.child({ correlationId: record.messageId });
  let notification: AwsMarketplaceNotification;
  let command: MarketplaceEventCommand;
  try {
    notification = parseSqsRecord(record);
    command = toMarketplaceEventCommand(notification);
  } catch (error) {
    const reason = error instanceof ValidationError ? error.message : 'malformed message';
    const unreadable = {
      cloud: 'aws' as const,
      eventId: `sqs:${record.messageId}`,
      type: 'UNREADABLE',
    };
    await deadLetter(log, { ...unreadable, payload: keptBody(record.body) }, reason);
    return 'ack';
  }
  // Until its signature checks out, an SNS message's MessageId proves nothing: refused, it is
  // kept under the SQS message id, so a forged copy cannot make the genuine one a duplicate.
  let recordAs =
    notification.kind === 'sns' ? { ...command, eventId: `sqs:${record.messageId}` } : command;
  try {
    await verify(notification);
    recordAs = command;
    const refused = refusal(notification);
    if (refused !== null) {
      await deadLetter(log, recordAs, refused);
      return 'ack';
    }
    await handleMarketplaceEvent({ ...deps, logger: log }, command);
    // Also after a duplicate: a flush that failed is what made the message come back.
    if (LEAVING.has(command.hint) && command.entitlementId) {
      const flushed = await meterUsageToAws(
        { ...meteringDeps, logger: log },
        { flushEntitlementId: command.entitlementId },
      );
      if (flushed.deferred > 0) return 'retry';
    }
    return 'ack';
  } catch (error) {
    if (isRetryable(error)) {
      log.warn('message will be retried', { error });
      return 'retry';
    }
    const reason =
      error instanceof ValidationError || error instanceof UnauthorizedError
        ? error.message
        : 'could not be processed';
    await deadLetter(log, recordAs, reason);
    return 'ack';
  }
};

/**
 * Reports only the records worth another delivery; SQS moves one that keeps failing to the
 * dead-letter queue. Records go one at a time, in order, as a buyer's messages must.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records ?? []) {
    const outcome = await processRecord(record).catch((error: unknown) => {
      logger.error('record failed', { correlationId: record.messageId, error });
      return 'retry' as const;
    });
    if (outcome === 'retry') batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures };
};
