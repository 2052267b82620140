import { UsageHourTotalTooLargeError, ValidationError } from './errors';

/**
 * What the stores accept. Keys end up inside DynamoDB keys (2 KB partition, 1 KB sort) and
 * Firestore document ids (1.5 KB), so a key part stays well under both. Items stay under
 * DynamoDB's 400 KB item limit with room for attribute names and index copies.
 */
export const MAX_KEY_BYTES = 512;
export const MAX_ITEM_BYTES = 300 * 1024;
/** The most items one listing page returns. */
export const MAX_PAGE_LIMIT = 1_000;
/**
 * The largest quantity of one usage record, and of one usage hour's total (each of its
 * allocations is a part of the total, so they stay under it too): AWS BatchMeterUsage takes a
 * 32-bit integer, and refuses the whole call when one record holds more. Service Control takes an
 * int64; one limit for both clouds keeps a record valid wherever it is sent.
 */
export const MAX_USAGE_QUANTITY = 2 ** 31 - 1;

const encoder = new TextEncoder();
// Control characters (C0, DEL, C1) never belong in an identifier and break key encodings.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export const byteLength = (text: string): number => encoder.encode(text).length;

/**
 * Returns `value` when it can serve as a key part.
 *
 * @throws ValidationError naming `path` otherwise.
 */
export const assertKey = (value: unknown, path: string): string => {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(`${path} must be a non-empty string`, { path });
  }
  if (byteLength(value) > MAX_KEY_BYTES) {
    throw new ValidationError(`${path} is longer than ${MAX_KEY_BYTES} bytes`, { path });
  }
  if (CONTROL_CHARACTERS.test(value) || value.trim() !== value) {
    throw new ValidationError(`${path} contains control characters or surrounding spaces`, {
      path,
    });
  }
  return value;
};

/** @throws ValidationError when the JSON form of `item` is larger than a store accepts. */
export const assertItemSize = (item: unknown, path: string): void => {
  const bytes = byteLength(JSON.stringify(item) ?? '');
  if (bytes > MAX_ITEM_BYTES) {
    throw new ValidationError(`${path} is ${bytes} bytes, more than ${MAX_ITEM_BYTES}`, { path });
  }
};

/** @throws ValidationError unless `value` is a safe integer within [min, max]. */
export const assertInteger = (value: unknown, path: string, min: number, max: number): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(`${path} must be an integer from ${min} to ${max}`, { path });
  }
  return value;
};

/**
 * Checks that adding `records`, in their order, keeps an hour whose total is `total` within
 * {@link MAX_USAGE_QUANTITY}: a record that would take it past is refused, the ones before it
 * fit.
 *
 * @throws UsageHourTotalTooLargeError naming the first record (by its `path`) that does not fit.
 */
export const assertHourTotalRoom = (
  total: number,
  records: Iterable<{ readonly quantity: number; readonly path: string }>,
): void => {
  let sum = total;
  for (const record of records) {
    sum += record.quantity;
    if (sum > MAX_USAGE_QUANTITY) {
      throw new UsageHourTotalTooLargeError(
        `${record.path} would take the hour's total to ${sum}; a marketplace takes at most ${MAX_USAGE_QUANTITY} an hour`,
        { path: record.path },
      );
    }
  }
};
