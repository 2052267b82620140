import { createRandom } from './random';

describe('createRandom', () => {
  it('repeats under the same seed and differs under another', () => {
    const draw = (seed: string) => {
      const random = createRandom(seed);
      return [random.uuid(), random.digits(16), random.hex(8), random.next()];
    };
    expect(draw('a')).toEqual(draw('a'));
    expect(draw('a')).not.toEqual(draw('b'));
  });

  it('makes version-4 UUIDs and digit strings without a leading zero', () => {
    const random = createRandom(7);
    for (let i = 0; i < 200; i += 1) {
      expect(random.uuid()).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(random.digits(12)).toMatch(/^[1-9]\d{11}$/);
      const x = random.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
