import { createRateLimiter } from './rate-limiter';

/** A clock that only moves when the limiter sleeps: the test measures time it asked for. */
const aVirtualClock = () => {
  let nowMs = 0;
  return {
    clock: { now: () => nowMs },
    sleep: async (ms: number) => {
      nowMs += ms;
    },
    elapsedMs: () => nowMs,
  };
};

describe('rate limiter', () => {
  it('lets a burst through at once, then paces to the rate', async () => {
    const time = aVirtualClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, clock: time.clock, sleep: time.sleep });
    for (let i = 0; i < 10; i += 1) await limiter.acquire();
    expect(time.elapsedMs()).toBe(0);
    for (let i = 0; i < 40; i += 1) await limiter.acquire();
    // 40 more at 10 a second: four seconds, give or take a rounding of the last sleep.
    expect(time.elapsedMs()).toBeGreaterThanOrEqual(4_000);
    expect(time.elapsedMs()).toBeLessThanOrEqual(4_010);
  });

  it('never lets more than the rate through in any second after the burst', async () => {
    const time = aVirtualClock();
    const limiter = createRateLimiter({
      ratePerSecond: 3,
      burst: 1,
      clock: time.clock,
      sleep: time.sleep,
    });
    const at: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      await limiter.acquire();
      at.push(time.elapsedMs());
    }
    for (const start of at) {
      expect(at.filter((t) => t >= start && t < start + 1_000).length).toBeLessThanOrEqual(3);
    }
  });

  it('refills while idle, up to the burst', async () => {
    const time = aVirtualClock();
    const limiter = createRateLimiter({ ratePerSecond: 5, clock: time.clock, sleep: time.sleep });
    for (let i = 0; i < 5; i += 1) await limiter.acquire();
    await time.sleep(60_000);
    const before = time.elapsedMs();
    for (let i = 0; i < 5; i += 1) await limiter.acquire();
    expect(time.elapsedMs()).toBe(before);
  });
});
