import { canonicalTags } from '../../domain/usage-allocations';
import { assertDistinctTagSetIds, tagSetId } from './tag-set-id';

describe('tag set ids', () => {
  it('names a set with 16 hex digits, the same for the same tags in any order', () => {
    const id = tagSetId(canonicalTags({ team: 'a', env: 'prod' }));
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(tagSetId(canonicalTags({ env: 'prod', team: 'a' }))).toBe(id);
    expect(tagSetId(canonicalTags({ env: 'prod' }))).not.toBe(id);
  });

  it('accepts 2,500 distinct sets, and a set named twice', () => {
    const sets = Array.from({ length: 2_500 }, (_, i) => canonicalTags({ n: String(i) }));
    expect(() => assertDistinctTagSetIds([...sets, sets[0]!], 'records')).not.toThrow();
  });
});
