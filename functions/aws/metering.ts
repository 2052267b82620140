// EventBridge schedule (hourly) --> meterUsageToAws --> BatchMeterUsage, exactly once per hour.
// `tsx functions/aws/metering.ts --dry-run` prints what the next run would send.
import type { ScheduledEvent } from 'aws-lambda';
import {
  createJsonLogger,
  loadAwsMeteringConfig,
  meterUsageToAws,
  systemClock,
} from '../../shared';
import type { MeterUsageResult } from '../../shared';
import { createAwsMeteringDeps, metricLine } from '../../shared/adapters/aws';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';
import { storeDeliveringWebhooks } from '../../shared/adapters/webhooks';

const config = loadAwsMeteringConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'aws-metering' } });
const deps = createAwsMeteringDeps({
  ...config,
  store: storeDeliveringWebhooks({
    env: process.env,
    store: createDynamoDbStoreFromConfig(config.store),
    clock: systemClock,
    logger,
    eventTtlSeconds: config.eventTtlSeconds,
  }),
  clock: systemClock,
  logger,
});

/**
 * Meters every closed hour, then publishes what the run did as CloudWatch metrics; the alarm in
 * serverless.yml fires when hours are about to leave AWS's window unsent.
 */
export const handler = async (event?: Partial<ScheduledEvent>): Promise<MeterUsageResult> => {
  const result = await meterUsageToAws(deps);
  logger.info('metering finished', {
    scheduledAt: event?.time ?? null,
    sent: result.sent,
    rejected: result.rejected,
    deferred: result.deferred,
    waiting: result.waiting,
    nearWindowEnd: result.nearWindowEnd,
  });
  process.stdout.write(
    `${metricLine(
      { Function: 'aws-metering' },
      {
        UsageRecordsSent: result.sent,
        UsageRecordsRejected: result.rejected,
        UsageRecordsDeferred: result.deferred,
        UsageHoursNearWindowEnd: result.nearWindowEnd,
      },
      systemClock.now(),
    )}\n`,
  );
  return result;
};

/** `--dry-run`: the records the next run would send, as JSON; nothing is sealed or sent. */
const runFromCommandLine = async (args: readonly string[]): Promise<void> => {
  if (!args.includes('--dry-run')) {
    console.log(JSON.stringify(await handler(), null, 2));
    return;
  }
  const result = await meterUsageToAws(deps, { dryRun: true });
  const records = (result.wouldSend ?? []).map((record) => ({
    ...record.customer,
    dimension: record.hour.dimension,
    timestamp: new Date(record.hour.hourStartEpochMs).toISOString(),
    quantity: record.quantity,
  }));
  console.log(
    JSON.stringify(
      { dryRun: true, records, waiting: result.waiting, nearWindowEnd: result.nearWindowEnd },
      null,
      2,
    ),
  );
};

if (require.main === module) {
  runFromCommandLine(process.argv.slice(2)).catch((error: unknown) => {
    logger.error('metering failed', { error });
    process.exitCode = 1;
  });
}
