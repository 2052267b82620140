/**
 * When a webhook that failed is tried again, and when it is given up: exponential backoff with
 * jitter, bounded by a horizon counted from when the event occurred or was last replayed.
 */

export interface WebhookBackoffPolicy {
  /** The longest wait after the first failed attempt. */
  readonly baseMs: number;
  /** No wait is longer than this, however many attempts failed. */
  readonly capMs: number;
}

/**
 * Steps of 30 s, 1 min, 2 min, ... up to an hour: 78 attempts or more over the default 72-hour
 * horizon, most of them an hour apart or less.
 */
export const DEFAULT_WEBHOOK_BACKOFF: WebhookBackoffPolicy = {
  baseMs: 30_000,
  capMs: 60 * 60 * 1000,
};

/**
 * The wait after failed attempt number `attempt` (1 for the first): the exponential step
 * `min(cap, base * 2^(attempt - 1))`, half of it fixed and half jittered by `random` ("equal
 * jitter"). The jitter spreads the retries of many events that failed together (the app was
 * down); the fixed half keeps a wait from ever being zero, which would hammer an app that is
 * failing and let a run pick the event up again at once.
 *
 * @param random - a number in [0, 1), from the caller's source of randomness.
 */
export const webhookBackoffMs = (
  attempt: number,
  random: number,
  policy: WebhookBackoffPolicy = DEFAULT_WEBHOOK_BACKOFF,
): number => {
  const failures = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const stepMs = Math.min(policy.capMs, policy.baseMs * 2 ** (failures - 1));
  const jitter = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  return Math.round(stepMs / 2 + (stepMs / 2) * jitter);
};

/** What to do with an event that some endpoint did not take. */
export type WebhookRetry =
  | { readonly kind: 'retry'; readonly atEpochMs: number }
  | { readonly kind: 'give_up'; readonly horizonEndEpochMs: number };

/**
 * The last moment an event that occurred at `occurredAtEpochMs` may still be attempted: a
 * horizon after it occurred, or after it was last replayed when that is later.
 */
export const webhookHorizonEndEpochMs = (
  occurredAtEpochMs: number,
  retryHorizonMs: number,
  replayedAtEpochMs: number | null = null,
) => Math.max(occurredAtEpochMs, replayedAtEpochMs ?? occurredAtEpochMs) + retryHorizonMs;

/**
 * After failed attempt number `attempt` at `nowEpochMs`: retry after the backoff, or give up when
 * that retry would fall after the horizon (see `webhookHorizonEndEpochMs`). The horizon counts
 * from the event, not from its first attempt, so an event that waited for its app does not get
 * a fresh horizon on every run; a replay starts a fresh one, since the vendor asked for the
 * event again, perhaps long after it occurred.
 */
export const nextWebhookAttempt = (input: {
  readonly nowEpochMs: number;
  readonly attempt: number;
  readonly random: number;
  readonly occurredAtEpochMs: number;
  /** When the event was last replayed, if ever. */
  readonly replayedAtEpochMs?: number | null;
  readonly retryHorizonMs: number;
  readonly policy?: WebhookBackoffPolicy;
}): WebhookRetry => {
  const atEpochMs = input.nowEpochMs + webhookBackoffMs(input.attempt, input.random, input.policy);
  const horizonEndEpochMs = webhookHorizonEndEpochMs(
    input.occurredAtEpochMs,
    input.retryHorizonMs,
    input.replayedAtEpochMs,
  );
  return atEpochMs > horizonEndEpochMs
    ? { kind: 'give_up', horizonEndEpochMs }
    : { kind: 'retry', atEpochMs };
};
