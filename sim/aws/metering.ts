import type { SimClock } from '../clock';
import { rfc3339 } from '../clock';
import { awsError, clientError } from './aws-errors';
import type { AwsIds } from './ids';
import type { AwsMarketplace } from './marketplace';
import type { License, Product } from './model';
import type { MeteringWindow } from './timestamp-window';
import { hourStartMs, timestampOutOfBounds } from './timestamp-window';
import type { UsageAllocation, UsageRecord } from './usage-records';
import { checkAllocations, readBatchMeterUsage, readMeterUsage } from './usage-records';

/**
 * The Metering Service: BatchMeterUsage and MeterUsage with their documented rules, and the
 * ledger of what was billed and what was refused.
 *
 * Checks run in this order, the first failing one answering for the whole call: input shape
 * (Serialization/ValidationException), product and licenses (InvalidProductCode/License/
 * CustomerIdentifierException), dimensions, allocations and tags, timestamps
 * (TimestampOutOfBoundsException). Then each record alone: unprocessed (injected), not
 * subscribed, duplicate, or billed.
 *
 * Dedupe is per (license, dimension, hour) for records naming a LicenseArn, otherwise per
 * (product, customer or account, dimension, hour): the same quantity again answers Success with
 * the first MeteringRecordId and bills nothing more; another quantity is a DuplicateRecord.
 */
export type UsageStatus = 'Success' | 'CustomerNotSubscribed' | 'DuplicateRecord';

export interface BilledRecord {
  readonly meteringRecordId: string;
  readonly operation: 'BatchMeterUsage' | 'MeterUsage';
  readonly productCode: string;
  readonly dimension: string;
  readonly quantity: number;
  /** The record's own time and the hour it is billed in (RFC 3339). */
  readonly timestamp: string;
  readonly hourStart: string;
  readonly licenseArn?: string;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  readonly usageAllocations?: readonly UsageAllocation[];
  readonly meteredAt: string;
}

export interface RefusedRecord {
  readonly status: 'CustomerNotSubscribed' | 'DuplicateRecord' | 'Unprocessed';
  readonly productCode: string;
  readonly usageRecord: UsageRecord;
  readonly reason: string;
  readonly at: string;
}

export interface RefusedCall {
  readonly operation: string;
  readonly errorType: string;
  readonly message: string;
  readonly recordCount: number;
  readonly at: string;
}

export interface BatchMeterUsageResult {
  readonly Results: Array<{
    UsageRecord: UsageRecord;
    MeteringRecordId?: string;
    Status: UsageStatus;
  }>;
  readonly UnprocessedRecords: UsageRecord[];
}

export interface MeteringOptions {
  readonly marketplace: AwsMarketplace;
  readonly clock: SimClock;
  readonly ids: AwsIds;
  readonly window: () => MeteringWindow;
  /** How long after a subscription ended its final records are still accepted. */
  readonly graceMs: number;
  /** The share of records answered as UnprocessedRecords (injected fault). */
  readonly unprocessedRate: () => number;
  /** The unprocessed dice, in [0, 1). */
  readonly roll: () => number;
}

export interface MeteringService {
  batchMeterUsage(body: unknown): BatchMeterUsageResult;
  meterUsage(body: unknown): { MeteringRecordId: string };
  /** Records a whole call refused with an exception (for the inspection route). */
  refuseCall(call: RefusedCall): void;
  billed(): readonly BilledRecord[];
  refusedRecords(): readonly RefusedRecord[];
  refusedCalls(): readonly RefusedCall[];
  reset(): void;
}

/** Why a license cannot be metered now for usage at `timestampMs`, or `undefined`. */
export const notSubscribedReason = (
  license: License,
  nowMs: number,
  timestampMs: number,
  graceMs: number,
): string | undefined => {
  switch (license.status) {
    case 'pending':
      return 'the subscription is not confirmed yet (no subscribe-success)';
    case 'failed':
      return 'the subscription failed (subscribe-fail)';
    case 'active':
    case 'unsubscribe-pending':
      return undefined;
    case 'unsubscribed': {
      const endedAtMs = license.endedAtMs ?? 0;
      if (nowMs > endedAtMs + graceMs) {
        return `the subscription ended at ${rfc3339(endedAtMs)} and its final-records grace is over`;
      }
      if (timestampMs > endedAtMs) return 'the usage is later than the end of the subscription';
      return undefined;
    }
  }
};

const invalidProduct = (message: string) => clientError('InvalidProductCodeException', message);
const invalidLicense = (message: string) => clientError('InvalidLicenseException', message);

export const createMeteringService = (options: MeteringOptions): MeteringService => {
  const { marketplace, clock, ids } = options;
  let ledger = new Map<string, BilledRecord>();
  let billed: BilledRecord[] = [];
  let refused: RefusedRecord[] = [];
  let calls: RefusedCall[] = [];
  let clientTokens = new Map<string, { fingerprint: string; meteringRecordId: string }>();

  const productNamed = (code: string): Product => {
    const product = marketplace.product(code);
    if (!product) {
      throw invalidProduct(
        'The product code passed does not match the product code used for publishing the product.',
      );
    }
    return product;
  };

  const checkDimension = (product: Product, dimension: string): void => {
    if (product.usageDimensions && !product.usageDimensions.has(dimension)) {
      throw clientError(
        'InvalidUsageDimensionException',
        `The usage dimension "${dimension}" does not match one of the UsageDimensions associated with product ${product.code}.`,
      );
    }
  };

  const checkTimestamp = (timestampSeconds: number, where: string): void => {
    const problem = timestampOutOfBounds(timestampSeconds * 1000, clock.nowMs(), options.window());
    if (problem) {
      throw clientError('TimestampOutOfBoundsException', `${where}: ${problem}`);
    }
  };

  /** The product of the call: ProductCode, or the one product of the records' licenses. */
  const productOfCall = (
    productCode: string | undefined,
    records: readonly UsageRecord[],
  ): Product | undefined => {
    if (productCode !== undefined) return productNamed(productCode);
    if (records.length === 0) return undefined;
    const codes = new Set<string>();
    records.forEach((record, index) => {
      if (record.LicenseArn === undefined) {
        throw invalidProduct(
          `UsageRecords[${index}] names no LicenseArn: ProductCode is required unless every record names a LicenseArn`,
        );
      }
      const license = marketplace.license(record.LicenseArn);
      if (license) codes.add(license.productCode);
    });
    if (codes.size > 1) {
      throw invalidProduct(
        'Each BatchMeterUsage request is for only one product: these LicenseArns belong to several',
      );
    }
    const [code] = codes;
    // Every license unknown: the license check below names the first one.
    return code === undefined ? undefined : productNamed(code);
  };

  const checkIdentity = (
    product: Product | undefined,
    record: UsageRecord,
    where: string,
  ): void => {
    if (
      record.LicenseArn === undefined &&
      record.CustomerIdentifier === undefined &&
      record.CustomerAWSAccountId === undefined
    ) {
      throw clientError(
        'InvalidCustomerIdentifierException',
        `${where} names no customer: give CustomerAWSAccountId (and LicenseArn), or CustomerIdentifier`,
      );
    }
    if (record.LicenseArn === undefined) return;
    const license = marketplace.license(record.LicenseArn);
    if (!license || license.arn !== record.LicenseArn) {
      throw invalidLicense(
        `${where}: LicenseArn ${record.LicenseArn} is not a license of your products`,
      );
    }
    if (product && license.productCode !== product.code) {
      throw invalidLicense(
        `${where}: LicenseArn ${record.LicenseArn} is a license of another product`,
      );
    }
    if (
      record.CustomerAWSAccountId !== undefined &&
      record.CustomerAWSAccountId !== license.customerAWSAccountId
    ) {
      throw invalidLicense(`${where}: LicenseArn ${record.LicenseArn} does not match the customer`);
    }
    if (
      record.CustomerIdentifier !== undefined &&
      record.CustomerIdentifier !== license.customerIdentifier
    ) {
      throw invalidLicense(`${where}: LicenseArn ${record.LicenseArn} does not match the customer`);
    }
  };

  /** The license a record meters, preferring one that can be metered now. */
  const licenseOf = (
    product: Product,
    record: UsageRecord,
    timestampMs: number,
  ): License | undefined => {
    if (record.LicenseArn !== undefined) return marketplace.license(record.LicenseArn);
    const candidates =
      record.CustomerIdentifier !== undefined
        ? marketplace.licensesOfCustomer(product.code, record.CustomerIdentifier)
        : marketplace.licensesOfAccount(product.code, record.CustomerAWSAccountId ?? '');
    const nowMs = clock.nowMs();
    return (
      candidates.find(
        (license) =>
          notSubscribedReason(license, nowMs, timestampMs, options.graceMs) === undefined,
      ) ?? candidates[0]
    );
  };

  const dedupeKey = (product: Product, record: UsageRecord, hourMs: number): string =>
    record.LicenseArn !== undefined
      ? `license|${record.LicenseArn}|${record.Dimension}|${hourMs}`
      : record.CustomerIdentifier !== undefined
        ? `customer|${product.code}|${record.CustomerIdentifier}|${record.Dimension}|${hourMs}`
        : `account|${product.code}|${record.CustomerAWSAccountId}|${record.Dimension}|${hourMs}`;

  const refuse = (
    status: RefusedRecord['status'],
    product: Product,
    record: UsageRecord,
    reason: string,
  ) => {
    refused.push({
      status,
      productCode: product.code,
      usageRecord: record,
      reason,
      at: rfc3339(clock.nowMs()),
    });
  };

  const batchMeterUsage = (body: unknown): BatchMeterUsageResult => {
    const input = readBatchMeterUsage(body);
    const records = input.UsageRecords;
    const product = productOfCall(input.ProductCode, records);
    records.forEach((record, index) => checkIdentity(product, record, `UsageRecords[${index}]`));
    if (!product) return { Results: [], UnprocessedRecords: [] };
    records.forEach((record) => checkDimension(product, record.Dimension));
    records.forEach((record, index) =>
      checkAllocations(record.Quantity, record.UsageAllocations, `UsageRecords[${index}]`),
    );
    // One record out of bounds refuses the whole batch (API reference).
    records.forEach((record, index) => checkTimestamp(record.Timestamp, `UsageRecords[${index}]`));

    const results: BatchMeterUsageResult['Results'] = [];
    const unprocessed: UsageRecord[] = [];
    const nowMs = clock.nowMs();
    for (const record of records) {
      // Every record rolls, so which ones are unprocessed depends on the seed alone.
      if (options.roll() < options.unprocessedRate()) {
        unprocessed.push(record);
        refuse('Unprocessed', product, record, 'injected: answered as UnprocessedRecords');
        continue;
      }
      const timestampMs = record.Timestamp * 1000;
      const license = licenseOf(product, record, timestampMs);
      const reason = license
        ? notSubscribedReason(license, nowMs, timestampMs, options.graceMs)
        : 'no subscription of this customer to the product';
      if (reason !== undefined) {
        results.push({ UsageRecord: record, Status: 'CustomerNotSubscribed' });
        refuse('CustomerNotSubscribed', product, record, reason);
        continue;
      }
      const hourMs = hourStartMs(timestampMs);
      const key = dedupeKey(product, record, hourMs);
      const previous = ledger.get(key);
      if (previous && previous.quantity === record.Quantity) {
        results.push({
          UsageRecord: record,
          MeteringRecordId: previous.meteringRecordId,
          Status: 'Success',
        });
        continue;
      }
      if (previous) {
        results.push({ UsageRecord: record, Status: 'DuplicateRecord' });
        refuse(
          'DuplicateRecord',
          product,
          record,
          `${previous.quantity} was already metered for this customer, dimension and hour`,
        );
        continue;
      }
      const row: BilledRecord = {
        meteringRecordId: ids.uuid(),
        operation: 'BatchMeterUsage',
        productCode: product.code,
        dimension: record.Dimension,
        quantity: record.Quantity,
        timestamp: rfc3339(timestampMs),
        hourStart: rfc3339(hourMs),
        ...(license?.legacy || license === undefined ? {} : { licenseArn: license.arn }),
        ...(license?.customerIdentifier && record.LicenseArn === undefined
          ? { customerIdentifier: license.customerIdentifier }
          : {}),
        customerAWSAccountId: license?.customerAWSAccountId ?? record.CustomerAWSAccountId ?? '',
        ...(record.UsageAllocations ? { usageAllocations: record.UsageAllocations } : {}),
        meteredAt: rfc3339(nowMs),
      };
      ledger.set(key, row);
      billed.push(row);
      results.push({
        UsageRecord: record,
        MeteringRecordId: row.meteringRecordId,
        Status: 'Success',
      });
    }
    return { Results: results, UnprocessedRecords: unprocessed };
  };

  const meterUsage = (body: unknown): { MeteringRecordId: string } => {
    const input = readMeterUsage(body);
    const product = productNamed(input.ProductCode);
    checkDimension(product, input.UsageDimension);
    checkAllocations(input.UsageQuantity, input.UsageAllocations, 'MeterUsage');
    checkTimestamp(input.Timestamp, 'Timestamp');
    if (input.DryRun) {
      throw clientError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
    }
    const fingerprint = JSON.stringify([
      input.ProductCode,
      input.Timestamp,
      input.UsageDimension,
      input.UsageQuantity,
      input.UsageAllocations ?? null,
    ]);
    if (input.ClientToken !== undefined) {
      const seen = clientTokens.get(input.ClientToken);
      if (seen && seen.fingerprint !== fingerprint) {
        throw awsError(
          409,
          'IdempotencyConflictException',
          'The ClientToken is being used for multiple requests.',
        );
      }
      if (seen) return { MeteringRecordId: seen.meteringRecordId };
    }
    const hourMs = hourStartMs(input.Timestamp * 1000);
    const key = `caller|${product.code}|${input.UsageDimension}|${hourMs}`;
    const previous = ledger.get(key);
    if (previous && previous.quantity !== input.UsageQuantity) {
      throw clientError(
        'DuplicateRequestException',
        'A metering record has already been emitted for the given {usageDimension, timestamp} with a different usageQuantity.',
      );
    }
    let row = previous;
    if (!row) {
      row = {
        meteringRecordId: ids.uuid(),
        operation: 'MeterUsage',
        productCode: product.code,
        dimension: input.UsageDimension,
        quantity: input.UsageQuantity,
        timestamp: rfc3339(input.Timestamp * 1000),
        hourStart: rfc3339(hourMs),
        ...(input.UsageAllocations ? { usageAllocations: input.UsageAllocations } : {}),
        meteredAt: rfc3339(clock.nowMs()),
      };
      ledger.set(key, row);
      billed.push(row);
    }
    if (input.ClientToken !== undefined) {
      clientTokens.set(input.ClientToken, { fingerprint, meteringRecordId: row.meteringRecordId });
    }
    return { MeteringRecordId: row.meteringRecordId };
  };

  return {
    batchMeterUsage,
    meterUsage,
    refuseCall: (call) => {
      calls.push(call);
    },
    billed: () => billed,
    refusedRecords: () => refused,
    refusedCalls: () => calls,
    reset: () => {
      ledger = new Map();
      billed = [];
      refused = [];
      calls = [];
      clientTokens = new Map();
    },
  };
};
