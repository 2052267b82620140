import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { awsEntitlementId } from '../../shared/domain/aws-keys';
import type {
  Entitlement,
  OutboxMessage,
  UsageHour,
  UsageHourKey,
} from '../../shared/domain/model';
import { HOUR_MS, hourStartEpochMs } from '../../shared/domain/time';
import type { SubscribeAnswer } from '../../sim/aws/aws-simulator';
import type { SubscribeInput } from '../../sim/aws/marketplace';
import type { BilledRecord } from '../../sim/aws/metering';
import { PRODUCT_CODE } from './aws-stack';
import type { AwsStack } from './aws-stack';

/** The EventBridge rule serverless.yml creates for the hourly metering function. */
export const METERING_RULE_ARN =
  'arn:aws:events:us-east-1:111122223333:rule/marketplace-connector-dev-MeteringEventsRuleSchedule1-1A2B3C4D5E6F';

/** What EventBridge hands the metering Lambda on its `cron(5 * * * ? *)` schedule. */
export const scheduledEvent = (atEpochMs = Date.now()): ScheduledEvent => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '111122223333',
  // EventBridge prints the time to the second.
  time: new Date(Math.floor(atEpochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
  region: 'us-east-1',
  resources: [METERING_RULE_ARN],
  detail: {},
});

/** The start of the hour `n` hours before the open one: 1 is the last closed hour, 0 the open one. */
export const hourAgo = (n: number, nowEpochMs = Date.now()): number =>
  hourStartEpochMs(nowEpochMs) - n * HOUR_MS;

export interface Buyer {
  readonly answer: SubscribeAnswer;
  /** The entitlement's key in the store: the LicenseArn, legacy `CustomerIdentifier:ProductCode`. */
  readonly entitlementId: string;
  /** Who the simulator bills: the license, or a legacy listing's CustomerIdentifier. */
  readonly billedAs: string;
}

/**
 * A buyer subscribes at the simulator; its notifications reach the notifications function
 * (synchronous delivery), which stores the entitlement.
 */
export const subscribe = async (
  stack: AwsStack,
  input: Partial<SubscribeInput> = {},
): Promise<Buyer> => {
  const answer = await stack.sim.aws.subscribe({ productCode: PRODUCT_CODE, ...input });
  const legacy = answer.customerIdentifier !== null;
  const entitlementId = awsEntitlementId({
    ...answer,
    licenseArn: legacy ? null : answer.licenseArn,
  })!;
  return {
    answer,
    entitlementId,
    billedAs: legacy ? answer.customerIdentifier! : answer.licenseArn,
  };
};

export const entitlementOf = (stack: AwsStack, buyer: Buyer): Promise<Entitlement | null> =>
  stack.store.getEntitlement({ cloud: 'aws', id: buyer.entitlementId });

export const usageKey = (
  buyer: Buyer,
  dimension: string,
  hourStartEpochMs: number,
): UsageHourKey => ({
  cloud: 'aws',
  entitlementId: buyer.entitlementId,
  dimension,
  hourStartEpochMs,
});

/** Usage as the vendor's API will record it: into the ledger, deduplicated by a usage id. */
export const addUsage = (stack: AwsStack, key: UsageHourKey, quantity: number) =>
  stack.store.addUsage({
    ...key,
    records: [{ usageId: randomUUID(), quantity }],
    dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
    nowEpochMs: Date.now(),
  });

export const usageHour = (stack: AwsStack, key: UsageHourKey): Promise<UsageHour | null> =>
  stack.store.getUsageHour(key);

/** What the simulator billed this buyer, oldest first. */
export const billedFor = (stack: AwsStack, buyer: Buyer): BilledRecord[] =>
  stack.sim.aws
    .meteringRecords()
    .filter((r) => r.licenseArn === buyer.billedAs || r.customerIdentifier === buyer.billedAs);

/** The simulator's key of a billed record: who, which dimension, which hour. */
export const billedKey = (record: BilledRecord): string =>
  `${record.licenseArn ?? record.customerIdentifier}|${record.dimension}|${Date.parse(record.hourStart)}`;

export const batchCalls = (stack: AwsStack): number => stack.sim.aws.calls().BatchMeterUsage ?? 0;

/** The messages the vendor's webhook dispatcher would deliver next, of one type. */
export const vendorMessages = async (stack: AwsStack, type: string): Promise<OutboxMessage[]> => {
  const claimed = await stack.store.claimOutbox({
    nowEpochMs: Date.now(),
    limit: 1_000,
    leaseMs: 1,
  });
  return claimed.filter((message) => message.type === type);
};
