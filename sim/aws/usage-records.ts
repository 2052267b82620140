import type { SimHttpError } from '../http/http-error';
import { clientError, validationError } from './aws-errors';

/**
 * Reading and checking Metering Service input the way the service does: a value of the wrong
 * JSON type is a `SerializationException`; a value breaking a constraint of the model (lengths,
 * ranges, patterns) a `ValidationException` listing every problem, as Coral services word it;
 * allocations and tags have their own modelled exceptions.
 */
export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

export interface UsageAllocation {
  readonly AllocatedUsageQuantity: number;
  readonly Tags?: readonly Tag[];
}

export interface UsageRecord {
  /** Epoch seconds, possibly fractional (the SDK sends `getTime() / 1000`). */
  readonly Timestamp: number;
  readonly Dimension: string;
  readonly Quantity: number;
  readonly CustomerIdentifier?: string;
  readonly CustomerAWSAccountId?: string;
  readonly LicenseArn?: string;
  readonly UsageAllocations?: readonly UsageAllocation[];
}

export interface BatchMeterUsageInput {
  readonly ProductCode?: string;
  readonly UsageRecords: readonly UsageRecord[];
}

export interface MeterUsageInput {
  readonly ProductCode: string;
  readonly Timestamp: number;
  readonly UsageDimension: string;
  readonly UsageQuantity: number;
  readonly DryRun: boolean;
  readonly UsageAllocations?: readonly UsageAllocation[];
  readonly ClientToken?: string;
}

export const MAX_RECORDS = 25;
export const MAX_QUANTITY = 2_147_483_647;
export const MAX_ALLOCATIONS = 2500;
export const MAX_TAGS = 5;
// The model's own pattern. ` -=` is a range (space to `=`), so more characters pass than the
// documentation lists; the simulator accepts what AWS's pattern accepts.
const TAG_PATTERN = /^[a-zA-Z0-9+ -=._:/@]+$/;

const serialization = (message: string): SimHttpError =>
  clientError('SerializationException', message);

const kindOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;

type Json = Record<string, unknown>;

const objectAt = (value: unknown, path: string): Json => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw serialization(`Expected a structure at ${path}, found ${kindOf(value)}`);
  }
  return value as Json;
};

/** Collects constraint violations, then throws them as one ValidationException. */
interface Problems {
  add(path: string, value: unknown, rule: string): void;
  throwIfAny(): void;
}

const createProblems = (): Problems => {
  const problems: string[] = [];
  return {
    add: (path, value, rule) => {
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      problems.push(
        `Value '${shown}' at '${path}' failed to satisfy constraint: Member must ${rule}`,
      );
    },
    throwIfAny: () => {
      if (problems.length === 0) return;
      const count = problems.length;
      throw validationError(
        `${count} validation error${count === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
      );
    },
  };
};

const optionalString = (value: unknown, path: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw serialization(`Expected a string at ${path}, found ${kindOf(value)}`);
  return value;
};

const optionalNumber = (value: unknown, path: string, integer: boolean): number | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw serialization(`Expected a number at ${path}, found ${kindOf(value)}`);
  }
  if (integer && !Number.isInteger(value)) {
    throw serialization(`Expected an integer at ${path}, found ${value}`);
  }
  return value;
};

const length = (
  problems: Problems,
  value: string | undefined,
  path: string,
  min: number,
  max: number,
): void => {
  if (value === undefined) return;
  if (value.length < min) problems.add(path, value, `have length greater than or equal to ${min}`);
  if (value.length > max) problems.add(path, value, `have length less than or equal to ${max}`);
};

const quantityRange = (problems: Problems, value: number | undefined, path: string): void => {
  if (value === undefined) return;
  if (value < 0) problems.add(path, value, 'have value greater than or equal to 0');
  if (value > MAX_QUANTITY)
    problems.add(path, value, `have value less than or equal to ${MAX_QUANTITY}`);
};

const readAllocations = (
  value: unknown,
  path: string,
  problems: Problems,
): UsageAllocation[] | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw serialization(`Expected a list at ${path}, found ${kindOf(value)}`);
  if (value.length < 1) problems.add(path, value, 'have length greater than or equal to 1');
  if (value.length > MAX_ALLOCATIONS) {
    problems.add(
      path,
      `[${value.length} allocations]`,
      `have length less than or equal to ${MAX_ALLOCATIONS}`,
    );
  }
  return value.map((raw, index) => {
    const at = `${path}.${index + 1}.member`;
    const item = objectAt(raw, at);
    const quantity = optionalNumber(
      item.AllocatedUsageQuantity,
      `${at}.allocatedUsageQuantity`,
      true,
    );
    if (quantity === undefined) problems.add(`${at}.allocatedUsageQuantity`, null, 'not be null');
    quantityRange(problems, quantity, `${at}.allocatedUsageQuantity`);
    let tags: Tag[] | undefined;
    if (item.Tags !== undefined && item.Tags !== null) {
      if (!Array.isArray(item.Tags)) {
        throw serialization(`Expected a list at ${at}.tags, found ${kindOf(item.Tags)}`);
      }
      tags = item.Tags.map((rawTag, tagIndex) => {
        const tagAt = `${at}.tags.${tagIndex + 1}.member`;
        const tag = objectAt(rawTag, tagAt);
        return {
          Key: optionalString(tag.Key, `${tagAt}.key`) ?? '',
          Value: optionalString(tag.Value, `${tagAt}.value`) ?? '',
        };
      });
    }
    return { AllocatedUsageQuantity: quantity ?? 0, ...(tags ? { Tags: tags } : {}) };
  });
};

/** `AWSMPMeteringService.BatchMeterUsage` input, typed and within the model's constraints. */
export const readBatchMeterUsage = (body: unknown): BatchMeterUsageInput => {
  const input = objectAt(body ?? {}, 'the request');
  const problems = createProblems();
  const productCode = optionalString(input.ProductCode, 'ProductCode');
  length(problems, productCode, 'productCode', 1, 255);
  const rawRecords = input.UsageRecords;
  if (rawRecords === undefined || rawRecords === null) {
    problems.add('usageRecords', null, 'not be null');
    problems.throwIfAny();
  }
  if (!Array.isArray(rawRecords)) {
    throw serialization(`Expected a list at UsageRecords, found ${kindOf(rawRecords)}`);
  }
  if (rawRecords.length > MAX_RECORDS) {
    problems.add(
      'usageRecords',
      `[${rawRecords.length} records]`,
      `have length less than or equal to ${MAX_RECORDS}`,
    );
    problems.throwIfAny();
  }
  const records = rawRecords.map((raw, index): UsageRecord => {
    const at = `usageRecords.${index + 1}.member`;
    const item = objectAt(raw, at);
    const timestamp = optionalNumber(item.Timestamp, `${at}.timestamp`, false);
    if (timestamp === undefined) problems.add(`${at}.timestamp`, null, 'not be null');
    const dimension = optionalString(item.Dimension, `${at}.dimension`);
    if (dimension === undefined) problems.add(`${at}.dimension`, null, 'not be null');
    length(problems, dimension, `${at}.dimension`, 1, 255);
    const quantity = optionalNumber(item.Quantity, `${at}.quantity`, true);
    quantityRange(problems, quantity, `${at}.quantity`);
    const customerIdentifier = optionalString(item.CustomerIdentifier, `${at}.customerIdentifier`);
    length(problems, customerIdentifier, `${at}.customerIdentifier`, 1, 255);
    const accountId = optionalString(item.CustomerAWSAccountId, `${at}.customerAWSAccountId`);
    if (accountId !== undefined && !/^[0-9]+$/.test(accountId)) {
      problems.add(
        `${at}.customerAWSAccountId`,
        accountId,
        'satisfy regular expression pattern: ^[0-9]+$',
      );
    }
    const licenseArn = optionalString(item.LicenseArn, `${at}.licenseArn`);
    length(problems, licenseArn, `${at}.licenseArn`, 1, 255);
    if (customerIdentifier !== undefined && accountId !== undefined) {
      problems.add(
        at,
        'CustomerIdentifier and CustomerAWSAccountId',
        'name CustomerIdentifier or CustomerAWSAccountId, not both (they are mutually exclusive)',
      );
    }
    const allocations = readAllocations(item.UsageAllocations, `${at}.usageAllocations`, problems);
    return {
      Timestamp: timestamp ?? 0,
      Dimension: dimension ?? '',
      Quantity: quantity ?? 0,
      ...(customerIdentifier !== undefined ? { CustomerIdentifier: customerIdentifier } : {}),
      ...(accountId !== undefined ? { CustomerAWSAccountId: accountId } : {}),
      ...(licenseArn !== undefined ? { LicenseArn: licenseArn } : {}),
      ...(allocations ? { UsageAllocations: allocations } : {}),
    };
  });
  problems.throwIfAny();
  return {
    ...(productCode !== undefined ? { ProductCode: productCode } : {}),
    UsageRecords: records,
  };
};

/** `AWSMPMeteringService.MeterUsage` input. */
export const readMeterUsage = (body: unknown): MeterUsageInput => {
  const input = objectAt(body ?? {}, 'the request');
  const problems = createProblems();
  const productCode = optionalString(input.ProductCode, 'ProductCode');
  if (productCode === undefined) problems.add('productCode', null, 'not be null');
  length(problems, productCode, 'productCode', 1, 255);
  const timestamp = optionalNumber(input.Timestamp, 'Timestamp', false);
  if (timestamp === undefined) problems.add('timestamp', null, 'not be null');
  const dimension = optionalString(input.UsageDimension, 'UsageDimension');
  if (dimension === undefined) problems.add('usageDimension', null, 'not be null');
  length(problems, dimension, 'usageDimension', 1, 255);
  const quantity = optionalNumber(input.UsageQuantity, 'UsageQuantity', true);
  quantityRange(problems, quantity, 'usageQuantity');
  if (input.DryRun !== undefined && input.DryRun !== null && typeof input.DryRun !== 'boolean') {
    throw serialization(`Expected a boolean at DryRun, found ${kindOf(input.DryRun)}`);
  }
  const clientToken = optionalString(input.ClientToken, 'ClientToken');
  length(problems, clientToken, 'clientToken', 1, 64);
  const allocations = readAllocations(input.UsageAllocations, 'usageAllocations', problems);
  problems.throwIfAny();
  return {
    ProductCode: productCode ?? '',
    Timestamp: timestamp ?? 0,
    UsageDimension: dimension ?? '',
    UsageQuantity: quantity ?? 0,
    DryRun: input.DryRun === true,
    ...(allocations ? { UsageAllocations: allocations } : {}),
    ...(clientToken !== undefined ? { ClientToken: clientToken } : {}),
  };
};

const tagSetKey = (tags: readonly Tag[] | undefined): string =>
  JSON.stringify([...(tags ?? [])].map((tag) => [tag.Key, tag.Value]).sort());

/**
 * The allocation rules: 1–5 tags, keys 1–100 and values 1–256 characters of the allowed set,
 * no key twice (`InvalidTagException`); allocations summing to the quantity, each tag set once
 * (`InvalidUsageAllocationsException`).
 */
export const checkAllocations = (
  quantity: number,
  allocations: readonly UsageAllocation[] | undefined,
  where: string,
): void => {
  if (!allocations) return;
  const tagSets = new Set<string>();
  for (const allocation of allocations) {
    const tags = allocation.Tags;
    if (tags !== undefined) {
      if (tags.length < 1 || tags.length > MAX_TAGS) {
        throw clientError(
          'InvalidTagException',
          `${where}: an allocation holds ${tags.length} tags; it may hold 1 to ${MAX_TAGS}`,
        );
      }
      const keys = new Set<string>();
      for (const tag of tags) {
        if (tag.Key.length < 1 || tag.Key.length > 100 || !TAG_PATTERN.test(tag.Key)) {
          throw clientError('InvalidTagException', `${where}: tag key "${tag.Key}" is invalid`);
        }
        if (tag.Value.length < 1 || tag.Value.length > 256 || !TAG_PATTERN.test(tag.Value)) {
          throw clientError(
            'InvalidTagException',
            `${where}: the value "${tag.Value}" of tag "${tag.Key}" is invalid`,
          );
        }
        if (keys.has(tag.Key)) {
          throw clientError('InvalidTagException', `${where}: tag key "${tag.Key}" appears twice`);
        }
        keys.add(tag.Key);
      }
    }
    const key = tagSetKey(tags);
    if (tagSets.has(key)) {
      throw clientError(
        'InvalidUsageAllocationsException',
        `${where}: two allocations have the same tags; each allocation needs a unique set of tags`,
      );
    }
    tagSets.add(key);
  }
  const sum = allocations.reduce(
    (total, allocation) => total + allocation.AllocatedUsageQuantity,
    0,
  );
  if (sum !== quantity) {
    throw clientError(
      'InvalidUsageAllocationsException',
      `${where}: the allocated quantities sum to ${sum}, not to the usage quantity ${quantity}`,
    );
  }
};
