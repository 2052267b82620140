import { ValidationError } from './errors';
import { byteLength, MAX_ITEM_BYTES } from './limits';
import type { UsageAllocation, UsageHour, UsageTags } from './model';

/**
 * Usage allocations: an hour's quantity split by the tags the vendor gave its records, which
 * AWS bills as BatchMeterUsage `UsageAllocations` (buyers see each tag as
 * `aws:marketplace:isv:<Key>`). The rules are AWS's: 1 to 5 tags an allocation, keys of 1 to
 * 100 and values of 1 to 256 characters of one pattern, each tag set once per record, at most
 * 2,500 allocations a record, and the allocations summing to the record's quantity.
 */

export const MAX_TAGS_PER_RECORD = 5;
export const MAX_TAG_KEY_CHARS = 100;
export const MAX_TAG_VALUE_CHARS = 256;
/** AWS takes at most 2,500 allocations in one usage record; the untagged share is one of them. */
export const MAX_TAG_SETS_PER_HOUR = 2_500;

// AWS's own pattern. ` -=` is a range (space to `=`), so it accepts more than the documentation
// lists; we accept exactly what AWS's pattern accepts, as the simulator does.
const TAG_PATTERN = /^[a-zA-Z0-9+ -=._:/@]+$/;

export const UNTAGGED: UsageTags = Object.freeze({});

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};

const assertTagText = (value: unknown, path: string, what: string, maxChars: number): void => {
  if (
    typeof value !== 'string' ||
    value.length < 1 ||
    value.length > maxChars ||
    !TAG_PATTERN.test(value)
  ) {
    throw new ValidationError(
      `${path} must be a ${what} of 1 to ${maxChars} characters of [a-zA-Z0-9+ -=._:/@]`,
      { path },
    );
  }
};

/**
 * Returns `value` when it is a record's tags as AWS takes them.
 *
 * @throws ValidationError naming `path` (or the tag at fault below it) otherwise.
 */
export const assertTags = (value: unknown, path: string): UsageTags => {
  if (!isPlainObject(value)) {
    throw new ValidationError(`${path} must be an object of tag keys to values`, { path });
  }
  const keys = Object.keys(value);
  if (keys.length < 1 || keys.length > MAX_TAGS_PER_RECORD) {
    throw new ValidationError(`${path} must hold 1 to ${MAX_TAGS_PER_RECORD} tags`, { path });
  }
  for (const key of keys) {
    const at = `${path}[${JSON.stringify(key)}]`;
    assertTagText(key, at, 'key', MAX_TAG_KEY_CHARS);
    assertTagText(value[key], at, 'value', MAX_TAG_VALUE_CHARS);
  }
  return value as UsageTags;
};

/** The tags in one form whatever order their keys came in: `[[key, value], ...]` sorted by key. */
export const canonicalTags = (tags: UsageTags): string =>
  JSON.stringify(
    Object.keys(tags)
      .sort()
      .map((key) => [key, tags[key]]),
  );

export const tagsFromCanonical = (canonical: string): UsageTags =>
  Object.fromEntries(JSON.parse(canonical) as Array<[string, string]>);

/** A usage record as far as allocations go. */
export interface TaggedQuantity {
  readonly quantity: number;
  readonly tags?: UsageTags | undefined;
}

export interface TagSetTotal {
  /** The set's canonical tags, which also name it. */
  readonly canonical: string;
  readonly quantity: number;
}

/** The canonical form of a record's tags, or `null` for a record without tags. */
export const tagSetOf = (tags: UsageTags | undefined): string | null =>
  tags === undefined ? null : canonicalTags(tags);

/** The tagged records' totals per tag set, in the order the sets first appear. */
export const totalsByTagSet = (records: Iterable<TaggedQuantity>): TagSetTotal[] => {
  const totals = new Map<string, number>();
  for (const record of records) {
    const canonical = tagSetOf(record.tags);
    if (canonical !== null) totals.set(canonical, (totals.get(canonical) ?? 0) + record.quantity);
  }
  return [...totals].map(([canonical, quantity]) => ({ canonical, quantity }));
};

/** The total of the records without tags. */
export const untaggedTotal = (records: Iterable<TaggedQuantity>): number => {
  let total = 0;
  for (const record of records) if (record.tags === undefined) total += record.quantity;
  return total;
};

/** What limits an hour's next tag sets: the sets it holds, and whether it has an untagged share. */
export interface HourTagSets {
  /** Canonical tags. */
  readonly sets: ReadonlySet<string>;
  /** Whether records without tags gave the hour some quantity: one more allocation. */
  readonly untagged: boolean;
}

export const tagSetsOfHour = (hour: UsageHour | null): HourTagSets => {
  const sets = new Set<string>();
  let tagged = 0;
  for (const allocation of hour?.allocations ?? []) {
    if (Object.keys(allocation.tags).length === 0) continue;
    sets.add(canonicalTags(allocation.tags));
    tagged += allocation.quantity;
  }
  return { sets, untagged: (hour?.quantity ?? 0) > tagged };
};

/**
 * Checks that adding `records` keeps the hour within {@link MAX_TAG_SETS_PER_HOUR} allocations
 * (its tag sets, and the untagged share once it has a quantity) and returns the tag sets they
 * would add, in order.
 *
 * @throws ValidationError naming the record that would make the 2,501st allocation.
 */
export const newTagSets = (
  hour: HourTagSets,
  records: Iterable<TaggedQuantity & { readonly path: string }>,
): Set<string> => {
  const added = new Set<string>();
  let untagged = hour.untagged;
  for (const record of records) {
    const canonical = tagSetOf(record.tags);
    if (canonical === null) {
      if (untagged || record.quantity === 0) continue;
      untagged = true;
    } else {
      if (hour.sets.has(canonical) || added.has(canonical)) continue;
      added.add(canonical);
    }
    if (hour.sets.size + added.size + (untagged ? 1 : 0) > MAX_TAG_SETS_PER_HOUR) {
      throw new ValidationError(
        `${record.path} would make the hour's allocation number ${MAX_TAG_SETS_PER_HOUR + 1}; AWS takes at most ${MAX_TAG_SETS_PER_HOUR}`,
        { path: record.path },
      );
    }
  }
  return added;
};

/**
 * An hour's allocations from its total and its tag sets' totals: empty when no record had
 * tags, otherwise every tag set (ordered by canonical tags, so the same whatever the store),
 * then the untagged share when there is one. The untagged share is the total less the tag sets,
 * so the allocations always sum to the total, hours counted before tags existed included.
 */
export const allocationsOf = (
  quantity: number,
  sets: Iterable<{ readonly canonical: string; readonly quantity: number }>,
): UsageAllocation[] => {
  const tagged = [...sets].sort((a, b) =>
    a.canonical < b.canonical ? -1 : a.canonical > b.canonical ? 1 : 0,
  );
  if (tagged.length === 0) return [];
  const allocations: UsageAllocation[] = tagged.map((set) => ({
    tags: tagsFromCanonical(set.canonical),
    quantity: set.quantity,
  }));
  const untagged = quantity - tagged.reduce((total, set) => total + set.quantity, 0);
  if (untagged > 0) allocations.push({ tags: UNTAGGED, quantity: untagged });
  return allocations;
};

/**
 * @param projected the hour's row as it would be with the new tag sets.
 * @throws ValidationError when that row is larger than the stores keep.
 */
export const assertUsageHourSize = (projected: unknown, path: string): void => {
  const bytes = byteLength(JSON.stringify(projected) ?? '');
  if (bytes > MAX_ITEM_BYTES) {
    throw new ValidationError(
      `${path} would grow the usage hour to ${bytes} bytes, more than ${MAX_ITEM_BYTES}`,
      { path },
    );
  }
};
