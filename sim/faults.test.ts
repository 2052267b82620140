import { createSimClock } from './clock';
import { createFaults } from './faults';

describe('createFaults', () => {
  const setup = () => {
    let nowMs = 1_000_000;
    const faults = createFaults(
      createSimClock(() => nowMs),
      'seed',
    );
    return { faults, advance: (ms: number) => (nowMs += ms) };
  };
  const outcomes = async (faults: ReturnType<typeof createFaults>, count: number, api = 'gcp') => {
    const seen = [];
    for (let i = 0; i < count; i += 1) seen.push(await faults.apply(api));
    return seen;
  };

  it('passes everything when unset', async () => {
    const { faults } = setup();
    expect(await outcomes(faults, 3)).toEqual(['pass', 'pass', 'pass']);
  });

  it('throttles past a burst of the rate, and refills with time', async () => {
    const { faults, advance } = setup();
    faults.configure({ throttleRps: 2 });
    expect(await outcomes(faults, 3)).toEqual(['pass', 'pass', 'throttled']);
    advance(500);
    expect(await outcomes(faults, 2)).toEqual(['pass', 'throttled']);
    // Each API has its own quota.
    expect(await outcomes(faults, 1, 'aws')).toEqual(['pass']);
  });

  it('rolls the same errors under the same seed', async () => {
    const { faults } = setup();
    faults.configure({ errorRate: 0.5, seed: 7 });
    const first = await outcomes(faults, 40);
    expect(first).toContain('unavailable');
    expect(first).toContain('pass');
    faults.configure({ errorRate: 0.5, seed: 7 });
    expect(await outcomes(faults, 40)).toEqual(first);
    faults.configure({ errorRate: 0.5, seed: 8 });
    expect(await outcomes(faults, 40)).not.toEqual(first);
  });

  it('leaves APIs outside the scope alone, and resets', async () => {
    const { faults } = setup();
    faults.configure({ errorRate: 1, scope: 'gcp' });
    expect(await outcomes(faults, 1, 'aws')).toEqual(['pass']);
    expect(await outcomes(faults, 1, 'gcp')).toEqual(['unavailable']);
    faults.reset();
    expect(faults.settings()).toEqual({});
    expect(await outcomes(faults, 1, 'gcp')).toEqual(['pass']);
  });
});
