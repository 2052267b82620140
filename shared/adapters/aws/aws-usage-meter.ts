import { BatchMeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import type {
  MarketplaceMeteringClient,
  UsageAllocation,
  UsageRecord,
} from '@aws-sdk/client-marketplace-metering';
import type { MeteringRecord, MeteringResult, UsageMeter } from '../../ports/usage-meter';
import { toMarketplaceApiError } from './aws-errors';

/** AWS's key of a record: who, what, which hour (whole seconds). */
const keyOf = (
  customer: string | undefined,
  dimension: string | undefined,
  timestamp: Date | undefined,
) =>
  `${customer ?? ''}|${dimension ?? ''}|${timestamp ? Math.floor(timestamp.getTime() / 1000) : ''}`;

const customerKey = (record: MeteringRecord) =>
  'licenseArn' in record.customer ? record.customer.licenseArn : record.customer.customerIdentifier;

/** Tags in key order, so that a re-send of the hour is byte for byte the same record. */
const toUsageAllocations = (allocations: MeteringRecord['allocations']): UsageAllocation[] =>
  allocations.map(({ tags, quantity }) => {
    const keys = Object.keys(tags).sort();
    return {
      AllocatedUsageQuantity: quantity,
      // The untagged share goes without Tags: AWS refuses an empty list.
      ...(keys.length > 0 ? { Tags: keys.map((Key) => ({ Key, Value: tags[Key]! })) } : {}),
    };
  });

const toUsageRecord = (record: MeteringRecord): UsageRecord => ({
  // The hour's start, never the sending time: a re-send of the hour is then the same record.
  Timestamp: new Date(record.hour.hourStartEpochMs),
  Dimension: record.hour.dimension,
  Quantity: record.quantity,
  ...(record.allocations.length > 0
    ? { UsageAllocations: toUsageAllocations(record.allocations) }
    : {}),
  ...('licenseArn' in record.customer
    ? {
        LicenseArn: record.customer.licenseArn,
        CustomerAWSAccountId: record.customer.customerAWSAccountId,
      }
    : { CustomerIdentifier: record.customer.customerIdentifier }),
});

/**
 * BatchMeterUsage for one product through the official client. The client must be built with
 * `maxAttempts: 1`: the caller paces calls and retries throttling itself, so each call here is
 * exactly one request.
 */
export const createAwsUsageMeter = (options: {
  readonly client: MarketplaceMeteringClient;
  /** Legacy listings (CustomerIdentifier) still name their product code. */
  readonly productCode: string;
}): UsageMeter => ({
  meter: async (records) => {
    const byKey = new Map(
      records.map((record) => [
        keyOf(customerKey(record), record.hour.dimension, new Date(record.hour.hourStartEpochMs)),
        record,
      ]),
    );
    const legacy = records.some((record) => 'customerIdentifier' in record.customer);
    let output;
    try {
      output = await options.client.send(
        new BatchMeterUsageCommand({
          UsageRecords: records.map(toUsageRecord),
          ...(legacy ? { ProductCode: options.productCode } : {}),
        }),
      );
    } catch (error) {
      throw toMarketplaceApiError(error, 'BatchMeterUsage');
    }
    const recordOf = (usage: UsageRecord | undefined) =>
      usage
        ? byKey.get(
            keyOf(usage.LicenseArn ?? usage.CustomerIdentifier, usage.Dimension, usage.Timestamp),
          )
        : undefined;
    const results: MeteringResult[] = [];
    for (const result of output.Results ?? []) {
      const record = recordOf(result.UsageRecord);
      if (!record) continue;
      results.push({
        record,
        status: (result.Status ?? 'CustomerNotSubscribed') as MeteringResult['status'],
        meteringRecordId: result.MeteringRecordId ?? null,
      });
    }
    const unprocessed = (output.UnprocessedRecords ?? [])
      .map(recordOf)
      .filter((record): record is MeteringRecord => record !== undefined);
    return { results, unprocessed };
  },
});
