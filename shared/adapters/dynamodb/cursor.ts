import { ValidationError } from '../../domain/errors';
import type { KeySpec } from './table';

/** DynamoDB's own bound on a partition key; a longer value cannot be one of ours. */
const MAX_KEY_VALUE_BYTES = 2_048;

const invalid = (): ValidationError =>
  new ValidationError('page.cursor is not a cursor this listing returned', {
    path: 'page.cursor',
  });

/** Opaque to callers: the page's LastEvaluatedKey as base64url JSON. */
export const encodeCursor = (lastEvaluatedKey: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(lastEvaluatedKey), 'utf8').toString('base64url');

/**
 * The ExclusiveStartKey a cursor stands for. Only the exact key shape of `keys` (an index, or
 * the base table) on the same partition is accepted, and, given `inRange`, only a sort key the
 * listing's key condition holds (DynamoDB refuses a start key outside it), so a forged or
 * foreign cursor cannot read another listing.
 *
 * @throws ValidationError for anything else.
 */
export const decodeCursor = (
  cursor: string,
  keys: KeySpec,
  partition: string,
  inRange: (sortKey: string) => boolean = () => true,
): Record<string, string> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  // A base-table key names `pk` and `sk` once.
  const expected = [...new Set(['pk', 'sk', keys.pk, keys.sk])];
  const entries = Object.entries(parsed);
  const wellFormed =
    entries.length === expected.length &&
    entries.every(
      ([name, value]) =>
        expected.includes(name) &&
        typeof value === 'string' &&
        value.length > 0 &&
        Buffer.byteLength(value) <= MAX_KEY_VALUE_BYTES,
    );
  const key = parsed as Record<string, string>;
  if (!wellFormed || key[keys.pk] !== partition || !inRange(key[keys.sk]!)) throw invalid();
  return key;
};
