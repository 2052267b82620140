// EventBridge schedule (hourly) --> meterUsageToAws --> BatchMeterUsage, exactly once per hour.
// `tsx functions/aws/metering.ts --dry-run` prints what the next run would send.
import type { ScheduledEvent } from 'aws-lambda';
import {
  createJsonLogger,
  createRateLimiter,
  loadAwsMeteringConfig,
  meterUsageToAws,
  systemClock,
} from '../../shared';
import type { MeterUsageResult } from '../../shared';
import { createAwsUsageMeter, createMeteringClient, metricLine } from '../../shared/adapters/aws';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';

const config = loadAwsMeteringConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'aws-metering' } });
const deps = {
  store: createDynamoDbStoreFromConfig(config.store),
  meter: createAwsUsageMeter({
    // One request per call: the run paces itself under AWS's quota and retries on its own.
    client: createMeteringClient(config.marketplace, { maxAttempts: 1 }),
    productCode: config.marketplace.productCode,
  }),
  // A bucket of one: AWS's own bucket then always has tokens to spare for network jitter,
  // where one the size of AWS's would run level with it and get a call throttled now and then.
  limiter: createRateLimiter({
    ratePerSecond: config.metering.ratePerSecond,
    burst: 1,
    clock: systemClock,
  }),
  clock: systemClock,
  logger,
  eventTtlSeconds: config.eventTtlSeconds,
  zeroDimensions: config.metering.zeroRecords ? config.metering.dimensions : [],
  windowHours: config.metering.windowHours,
};

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
