import { ValidationError } from './errors';
import type { UsageHour } from './model';
import {
  allocationsOf,
  assertTags,
  canonicalTags,
  MAX_TAG_SETS_PER_HOUR,
  newTagSets,
  tagSetsOfHour,
  tagsFromCanonical,
  totalsByTagSet,
  untaggedTotal,
} from './usage-allocations';
import type { TaggedQuantity } from './usage-allocations';

describe('usage allocations', () => {
  it.each([
    ['one tag', { team: 'a' }, true],
    ['five tags', { a: '1', b: '2', c: '3', d: '4', e: '5' }, true],
    ["every character of AWS's pattern", { 'k+ -=._:/@Z9': 'a b+c-d=e.f_g:h/i@j' }, true],
    ['a character inside the pattern range', { 'a#b': 'x(y)' }, true],
    ['100- and 256-character text', { ['k'.repeat(100)]: 'v'.repeat(256) }, true],
    ['no tags', {}, false],
    ['six tags', { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' }, false],
    ['a 101-character key', { ['k'.repeat(101)]: 'v' }, false],
    ['a 257-character value', { k: 'v'.repeat(257) }, false],
    ['an empty value', { k: '' }, false],
    ['a question mark', { 'k?': 'v' }, false],
    ['non-ASCII text', { k: 'é' }, false],
    ['a number', { k: 1 }, false],
    ['a list', ['k'], false],
    ['null', null, false],
  ])('checks tags with %s', (_, tags, ok) => {
    const act = () => assertTags(tags, 'records[0].tags');
    if (ok) expect(act()).toBe(tags);
    else expect(act).toThrow(ValidationError);
  });

  it('names the tag at fault', () => {
    expect(() => assertTags({ good: 'v', 'bad?': 'v' }, 'records[2].tags')).toThrow(
      expect.objectContaining({ path: 'records[2].tags["bad?"]' }),
    );
  });

  it('gives tags one form whatever the order of their keys', () => {
    const one = canonicalTags({ team: 'a', env: 'prod' });
    expect(canonicalTags({ env: 'prod', team: 'a' })).toBe(one);
    expect(tagsFromCanonical(one)).toEqual({ env: 'prod', team: 'a' });
    expect(canonicalTags({ team: 'a' })).not.toBe(canonicalTags({ team: 'b' }));
  });

  it('totals tagged records per set and untagged ones apart', () => {
    const records: TaggedQuantity[] = [
      { quantity: 2, tags: { team: 'a', env: 'prod' } },
      { quantity: 5 },
      { quantity: 3, tags: { env: 'prod', team: 'a' } },
      { quantity: 1, tags: { team: 'b' } },
    ];
    expect(totalsByTagSet(records)).toEqual([
      { canonical: canonicalTags({ env: 'prod', team: 'a' }), quantity: 5 },
      { canonical: canonicalTags({ team: 'b' }), quantity: 1 },
    ]);
    expect(untaggedTotal(records)).toBe(5);
  });

  it('derives allocations: none without tags, sets in order, then the untagged share', () => {
    expect(allocationsOf(7, [])).toEqual([]);
    const sets = [
      { canonical: canonicalTags({ team: 'b' }), quantity: 1 },
      { canonical: canonicalTags({ team: 'a' }), quantity: 4 },
    ];
    expect(allocationsOf(9, sets)).toEqual([
      { tags: { team: 'a' }, quantity: 4 },
      { tags: { team: 'b' }, quantity: 1 },
      { tags: {}, quantity: 4 },
    ]);
    expect(allocationsOf(5, sets)).toHaveLength(2);
  });

  describe('the limit of allocations per hour', () => {
    const sets = (count: number) =>
      new Set(Array.from({ length: count }, (_, i) => canonicalTags({ n: String(i) })));
    const record = (quantity: number, tags?: Record<string, string>) => ({
      quantity,
      tags,
      path: 'records[0].tags',
    });

    it('returns the sets a call adds, each once, the known ones left out', () => {
      const added = newTagSets({ sets: sets(2), untagged: false }, [
        record(1, { n: '1' }),
        record(1, { n: 'new' }),
        record(1, { n: 'new' }),
        record(3),
      ]);
      expect([...added]).toEqual([canonicalTags({ n: 'new' })]);
    });

    it('refuses the 2,501st tag set', () => {
      const full = { sets: sets(MAX_TAG_SETS_PER_HOUR), untagged: false };
      expect(() => newTagSets(full, [record(1, { n: 'one more' })])).toThrow(ValidationError);
      expect(newTagSets(full, [record(1, { n: '7' }), record(0)]).size).toBe(0);
    });

    it('counts the untagged share as an allocation once it has a quantity', () => {
      const almost = { sets: sets(MAX_TAG_SETS_PER_HOUR - 1), untagged: true };
      expect(() => newTagSets(almost, [record(1, { n: 'one more' })])).toThrow(ValidationError);
      const full = { sets: sets(MAX_TAG_SETS_PER_HOUR), untagged: false };
      expect(() => newTagSets(full, [record(2)])).toThrow(
        expect.objectContaining({ path: 'records[0].tags' }),
      );
    });

    it('reads what an hour holds from its allocations', () => {
      const hour: UsageHour = {
        cloud: 'aws',
        entitlementId: 'l-1',
        dimension: 'requests',
        hourStartEpochMs: 0,
        quantity: 10,
        allocations: [
          { tags: { team: 'a' }, quantity: 6 },
          { tags: {}, quantity: 4 },
        ],
        state: 'open',
        sealedAtEpochMs: null,
        answer: null,
        updatedAtEpochMs: 0,
      };
      expect(tagSetsOfHour(hour)).toEqual({
        sets: new Set([canonicalTags({ team: 'a' })]),
        untagged: true,
      });
      expect(tagSetsOfHour({ ...hour, allocations: [] })).toEqual({
        sets: new Set(),
        untagged: true,
      });
      expect(tagSetsOfHour(null)).toEqual({ sets: new Set(), untagged: false });
    });
  });
});
