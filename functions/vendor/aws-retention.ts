// EventBridge schedule (daily) --> purgeEndedPurchases --> DynamoDB: personal data of purchases
// ended longer than PERSONAL_DATA_RETENTION_DAYS ago (counted from their end), and of every
// purchase of a deleted account it comes across, is purged; an anonymised audit stays.
import type { ScheduledEvent } from 'aws-lambda';
import {
  createJsonLogger,
  loadRetentionConfig,
  purgeEndedPurchases,
  systemClock,
} from '../../shared';
import type { PurgeResult } from '../../shared';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';

const config = loadRetentionConfig(process.env, 'aws');
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'aws-retention' } });
const deps = {
  store: createDynamoDbStoreFromConfig(config.store),
  clock: systemClock,
  logger,
  retentionMs: config.retentionMs,
  auditTtlSeconds: config.eventTtlSeconds,
};

/** A failed run throws: the next run picks up where this one stopped, nothing is half-purged. */
export const handler = async (event?: Partial<ScheduledEvent>): Promise<PurgeResult> => {
  const result = await purgeEndedPurchases(deps);
  logger.info('retention finished', { scheduledAt: event?.time ?? null, ...result });
  return result;
};
