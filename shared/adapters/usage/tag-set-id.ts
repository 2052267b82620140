import { createHash } from 'node:crypto';
import { ValidationError } from '../../domain/errors';

/**
 * A short name for a tag set (from its canonical tags, see `canonicalTags`), usable in a
 * DynamoDB attribute name or a Firestore field name, which the tags themselves are not: they may
 * be 1.8 KB long and hold characters such as `.` and `/`. 64 bits of SHA-256: among the 2,500
 * sets an hour may hold, two share a name with odds of about 1 in 10^13, and
 * {@link assertDistinctTagSetIds} refuses that rather than merge two sets.
 */
export const tagSetId = (canonical: string): string =>
  createHash('sha256').update(canonical).digest('hex').slice(0, 16);

/**
 * @param sets the canonical tags of the hour's sets and of the ones about to be added.
 * @throws ValidationError naming `path` when two of them would share a name.
 */
export const assertDistinctTagSetIds = (sets: Iterable<string>, path: string): void => {
  const named = new Map<string, string>();
  for (const canonical of sets) {
    const id = tagSetId(canonical);
    const other = named.get(id);
    if (other !== undefined && other !== canonical) {
      throw new ValidationError(`${path}: the tag sets ${other} and ${canonical} share a name`, {
        path,
      });
    }
    named.set(id, canonical);
  }
};
