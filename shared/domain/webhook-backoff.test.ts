import {
  DEFAULT_WEBHOOK_BACKOFF,
  nextWebhookAttempt,
  webhookBackoffMs,
  webhookHorizonEndEpochMs,
} from './webhook-backoff';

const SECOND_MS = 1_000;
const HOUR_MS = 60 * 60 * SECOND_MS;
const NOW = Date.UTC(2026, 10, 22, 10, 15);

describe('webhook backoff', () => {
  it.each([
    [1, 30 * SECOND_MS],
    [2, 60 * SECOND_MS],
    [3, 120 * SECOND_MS],
    [4, 240 * SECOND_MS],
    [7, 1_920 * SECOND_MS],
    [8, HOUR_MS],
    [9, HOUR_MS],
    [500, HOUR_MS],
  ])('after attempt %i waits between half of %i ms and all of it', (attempt, stepMs) => {
    expect(webhookBackoffMs(attempt, 0)).toBe(stepMs / 2);
    expect(webhookBackoffMs(attempt, 0.5)).toBe((stepMs * 3) / 4);
    expect(webhookBackoffMs(attempt, 0.999_999)).toBeLessThanOrEqual(stepMs);
    expect(webhookBackoffMs(attempt, 0.999_999)).toBeGreaterThan(stepMs * 0.99);
  });

  it('spreads the waits of events that failed together', () => {
    const waits = new Set(
      Array.from({ length: 20 }, (_, index) => webhookBackoffMs(3, index / 20)),
    );
    expect(waits.size).toBe(20);
  });

  it('never waits zero or less, whatever it is given', () => {
    for (const attempt of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      for (const random of [-1, 0, 2, Number.NaN]) {
        const waitMs = webhookBackoffMs(attempt, random);
        expect(waitMs).toBeGreaterThanOrEqual(DEFAULT_WEBHOOK_BACKOFF.baseMs / 2);
        expect(waitMs).toBeLessThanOrEqual(DEFAULT_WEBHOOK_BACKOFF.capMs);
      }
    }
  });

  it('follows another policy', () => {
    const policy = { baseMs: 1_000, capMs: 4_000 };
    expect([1, 2, 3, 4].map((attempt) => webhookBackoffMs(attempt, 0, policy))).toEqual([
      500, 1_000, 2_000, 2_000,
    ]);
  });
});

describe('the retry horizon', () => {
  const horizonMs = 72 * HOUR_MS;

  it('retries after the backoff while that stays within the horizon', () => {
    expect(
      nextWebhookAttempt({
        nowEpochMs: NOW,
        attempt: 1,
        random: 0,
        occurredAtEpochMs: NOW,
        retryHorizonMs: horizonMs,
      }),
    ).toEqual({ kind: 'retry', atEpochMs: NOW + 15 * SECOND_MS });
  });

  it('retries exactly at the horizon, and gives up one millisecond past it', () => {
    const occurredAtEpochMs = NOW - horizonMs + 15 * SECOND_MS;
    const input = { nowEpochMs: NOW, attempt: 1, random: 0, retryHorizonMs: horizonMs };
    expect(nextWebhookAttempt({ ...input, occurredAtEpochMs })).toEqual({
      kind: 'retry',
      atEpochMs: NOW + 15 * SECOND_MS,
    });
    expect(nextWebhookAttempt({ ...input, occurredAtEpochMs: occurredAtEpochMs - 1 })).toEqual({
      kind: 'give_up',
      horizonEndEpochMs: NOW + 15 * SECOND_MS - 1,
    });
  });

  it('counts the horizon from the event, however late the first attempt came', () => {
    expect(
      nextWebhookAttempt({
        nowEpochMs: NOW,
        attempt: 1,
        random: 0.5,
        occurredAtEpochMs: NOW - horizonMs,
        retryHorizonMs: horizonMs,
      }),
    ).toEqual({ kind: 'give_up', horizonEndEpochMs: NOW });
    expect(webhookHorizonEndEpochMs(NOW, horizonMs)).toBe(NOW + horizonMs);
  });

  it('counts the horizon from the last replay when there was one', () => {
    const input = { nowEpochMs: NOW, attempt: 1, random: 0, retryHorizonMs: horizonMs };
    // Replayed four days after it occurred, the event gets a whole horizon again.
    const occurredAtEpochMs = NOW - 96 * HOUR_MS;
    expect(nextWebhookAttempt({ ...input, occurredAtEpochMs, replayedAtEpochMs: NOW })).toEqual({
      kind: 'retry',
      atEpochMs: NOW + 15 * SECOND_MS,
    });
    expect(nextWebhookAttempt({ ...input, occurredAtEpochMs, replayedAtEpochMs: null })).toEqual({
      kind: 'give_up',
      horizonEndEpochMs: occurredAtEpochMs + horizonMs,
    });
    expect(webhookHorizonEndEpochMs(occurredAtEpochMs, horizonMs, NOW)).toBe(NOW + horizonMs);
    // A replay time before the event (a clock that stepped back) never shortens its horizon.
    expect(webhookHorizonEndEpochMs(NOW, horizonMs, NOW - HOUR_MS)).toBe(NOW + horizonMs);
  });

  it('gives an event at least 78 attempts over the default horizon, then gives up', () => {
    let nowEpochMs = NOW;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const next = nextWebhookAttempt({
        nowEpochMs,
        attempt: attempts,
        random: 1,
        occurredAtEpochMs: NOW,
        retryHorizonMs: horizonMs,
      });
      if (next.kind === 'give_up') break;
      expect(next.atEpochMs).toBeGreaterThan(nowEpochMs);
      nowEpochMs = next.atEpochMs;
    }
    expect(nowEpochMs).toBeLessThanOrEqual(NOW + horizonMs);
    expect(nowEpochMs).toBeGreaterThan(NOW + horizonMs - HOUR_MS);
    // The first attempt, 7 growing waits (3,810 s in all), then 70 waits of an hour at most.
    expect(attempts).toBe(1 + 7 + 70);
  });
});
