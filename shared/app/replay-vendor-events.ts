import type { OutboxMessage } from '../domain/model';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import { inParallel } from './in-parallel';

export interface ReplayVendorEventsDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Tries to deliver the given events at once, as after a write; the scheduled run delivers
   * them otherwise. Never throws: a failed attempt is the scheduled run's to retry.
   */
  readonly deliverNow?: (ids: readonly string[]) => Promise<void>;
}

/** The most events one bulk replay resets; a larger range is replayed over several calls. */
export const MAX_REPLAY_PER_CALL = 10_000;
/** Resets in flight at once. */
const CONCURRENCY = 8;
const PAGE = 100;
/**
 * A bulk replay stops starting pages after this long, so that it answers within an HTTP
 * timeout (API Gateway gives up after 30 s) with the cursor to go on from.
 */
const DEFAULT_BUDGET_MS = 15_000;

export interface ReplayRange {
  /** Events that occurred in `[fromEpochMs, toEpochMs)`, oldest first. */
  readonly fromEpochMs: number;
  readonly toEpochMs: number;
  /** Where an earlier call of the same range stopped. */
  readonly cursor?: string | null;
  /** At most this many, up to {@link MAX_REPLAY_PER_CALL}. */
  readonly limit?: number;
  readonly budgetMs?: number;
}

export interface ReplayRangeResult {
  readonly replayed: number;
  /** Pass it back with the same range to replay the rest; `null` when the range is done. */
  readonly nextCursor: string | null;
}

/**
 * Delivers one event again to every endpoint, whatever became of it (delivered, failed, still
 * pending): it is due at once with no attempts counted and a whole retry horizon ahead of it,
 * however long ago it occurred, and the next delivery run (or the attempt made here) sends it.
 * The vendor's app sees the same event id again.
 *
 * @returns the event as stored now.
 * @throws NotFoundError when no event has that id.
 */
export const replayVendorEvent = async (
  deps: ReplayVendorEventsDeps,
  input: { readonly id: string; readonly actor: string },
): Promise<OutboxMessage> => {
  const replayed = await deps.store.replayOutbox(input.id, deps.clock.now());
  deps.logger.info('event replayed', { messageId: input.id, keyId: input.actor });
  await deps.deliverNow?.([input.id]);
  return (await deps.store.getOutboxMessage(input.id)) ?? replayed;
};

/**
 * Delivers again every event that occurred in a time range, oldest first, a bounded number per
 * call: at most `limit` ({@link MAX_REPLAY_PER_CALL}) and no new page once `budgetMs` has
 * passed. What is left is named by `nextCursor`; a call that stopped part-way resumes there,
 * and replaying an event twice only delivers it twice, which webhooks allow (same event id).
 */
export const replayVendorEvents = async (
  deps: ReplayVendorEventsDeps,
  range: ReplayRange,
  actor: string,
): Promise<ReplayRangeResult> => {
  const limit = Math.min(range.limit ?? MAX_REPLAY_PER_CALL, MAX_REPLAY_PER_CALL);
  const budgetMs = range.budgetMs ?? DEFAULT_BUDGET_MS;
  const startedAtEpochMs = deps.clock.now();
  let replayed = 0;
  let cursor = range.cursor ?? null;
  do {
    const page = await deps.store.listOutbox(
      { by: 'time', fromEpochMs: range.fromEpochMs, toEpochMs: range.toEpochMs },
      { limit: Math.min(PAGE, limit - replayed), cursor },
    );
    await inParallel(page.items, CONCURRENCY, async (message) => {
      await deps.store.replayOutbox(message.id, deps.clock.now());
    });
    replayed += page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== null && replayed < limit && deps.clock.now() - startedAtEpochMs < budgetMs);
  deps.logger.info('events replayed', {
    fromEpochMs: range.fromEpochMs,
    toEpochMs: range.toEpochMs,
    replayed,
    complete: cursor === null,
    keyId: actor,
  });
  return { replayed, nextCursor: cursor };
};
