import type { UsageAllocation, UsageHourKey } from '../domain/model';

/** Who is billed: new listings name the license, legacy ones the customer identifier. */
export type MeteredCustomer =
  | { readonly licenseArn: string; readonly customerAWSAccountId: string }
  | { readonly customerIdentifier: string };

/** One hour of one dimension for one customer, timestamped at the hour's start. */
export interface MeteringRecord {
  readonly hour: UsageHourKey;
  readonly customer: MeteredCustomer;
  readonly quantity: number;
  /**
   * The quantity split by tags (AWS `UsageAllocations`), summing to `quantity`; `{}` tags for
   * the untagged share. Empty: the record is sent without allocations.
   */
  readonly allocations: readonly UsageAllocation[];
}

export type MeteringStatus = 'Success' | 'CustomerNotSubscribed' | 'DuplicateRecord';

export interface MeteringResult {
  readonly record: MeteringRecord;
  readonly status: MeteringStatus;
  readonly meteringRecordId: string | null;
}

export interface MeteringAnswer {
  readonly results: readonly MeteringResult[];
  /** Not processed this time, for a transient reason: send them again as they are. */
  readonly unprocessed: readonly MeteringRecord[];
}

/**
 * AWS Marketplace metering (BatchMeterUsage) for one product.
 *
 * @throws MarketplaceApiError: retryable for throttling and 5xx; otherwise the whole batch was
 * refused (`code` names AWS's exception, such as `TimestampOutOfBoundsException`), often for
 * one bad record among many.
 */
export interface UsageMeter {
  /** At most 25 records, one product. */
  meter(records: readonly MeteringRecord[]): Promise<MeteringAnswer>;
}
