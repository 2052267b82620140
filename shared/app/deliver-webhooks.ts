import type { DeliveryAttempt, OutboxMessage } from '../domain/model';
import { outboxOrderingKey } from '../domain/model';
import { vendorEventEnvelope } from '../domain/vendor-events';
import { nextWebhookAttempt } from '../domain/webhook-backoff';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import type { WebhookEndpoint, WebhookResult, WebhookSender } from '../ports/webhook-sender';
import { inParallel } from './in-parallel';

export interface DeliverWebhooksDeps {
  /** The store as the adapter made it, not one that delivers after each write. */
  readonly store: Store;
  readonly clock: Clock;
  readonly sender: WebhookSender;
  /** Where every event goes; none: events wait in the outbox, readable through the vendor API. */
  readonly endpoints: readonly WebhookEndpoint[];
  /** A number in [0, 1) for the backoff's jitter. */
  readonly random: () => number;
  /** How long after it occurred (or was last replayed) an event is still retried. */
  readonly retryHorizonMs: number;
  /** How long a claimed event stays hidden from other runs; must outlast a claimed batch. */
  readonly leaseMs: number;
  readonly logger: Logger;
  /** How long the delivery log keeps an entry. */
  readonly deliveryLogTtlSeconds: number;
}

export interface DeliverWebhooksInput {
  /** Only these events, those of them that are due: the attempt right after the write. */
  readonly ids?: readonly string[];
  /** Claims no more events than this in one run. */
  readonly limit?: number;
  /** Claims no new batch once the run has taken this long; the batch under way finishes. */
  readonly budgetMs?: number;
  /** Waits at most this long for each endpoint, when shorter than the sender's timeout. */
  readonly attemptTimeoutMs?: number;
}

/** What one run did; each claimed event counts once in the others. */
export interface DeliverWebhooksResult {
  readonly claimed: number;
  /** Taken by every endpoint: acknowledged. */
  readonly delivered: number;
  /** Refused or unanswered by some endpoint: retried after the backoff. */
  readonly retried: number;
  /** Still not taken everywhere at the end of the retry horizon: given up, replayable. */
  readonly failed: number;
  /**
   * Not failed, but not tried at some endpoint, with no attempt counted: held back from one that
   * an older event of the same purchase has not reached yet (tried again after that one), or
   * kept from one that gave no answer earlier in the run (tried again after the backoff).
   */
  readonly deferred: number;
}

/** Events claimed at once; `webhookLeaseMs` in config sizes the lease for this many. */
export const WEBHOOK_CLAIM_BATCH = 10;
/** Purchases served at once in a batch; each purchase's events go one after the other. */
const KEY_CONCURRENCY = 4;
const DEFAULT_RUN_LIMIT = 1_000;
const ORDERING_PAGE = 100;
/** The soonest a held-back event comes round again, so a run does not spin on it. */
const MIN_DEFER_MS = 1_000;
/**
 * The wait for each endpoint right after a write: a buyer's browser or a marketplace delivery
 * waits on that write, so a slow endpoint gets its full timeout from the scheduled run instead.
 */
const AFTER_WRITE_TIMEOUT_MS = 3_000;
const MAX_ERROR_LENGTH = 500;

type Outcome = 'delivered' | 'retried' | 'failed' | 'deferred';

interface Try {
  readonly endpoint: WebhookEndpoint;
  readonly atEpochMs: number;
  readonly result: WebhookResult;
  readonly delivered: boolean;
}

const isSuccess = (result: WebhookResult): boolean =>
  result.kind === 'answered' && result.statusCode >= 200 && result.statusCode < 300;

const reasonOf = (result: WebhookResult): string => {
  if (result.kind === 'no_answer') return result.error;
  return result.statusCode >= 300 && result.statusCode < 400
    ? `HTTP ${result.statusCode} (redirects are not followed)`
    : `HTTP ${result.statusCode}`;
};

const shorten = (text: string): string =>
  text.length <= MAX_ERROR_LENGTH ? text : `${text.slice(0, MAX_ERROR_LENGTH - 1)}…`;

/**
 * For each endpoint the event still owes, the oldest older pending event of the same ordering
 * key that has not reached it: the event must not overtake that one there. Failed events are
 * not pending, so an event given up never holds the others back.
 */
const blockersOf = async (
  store: Store,
  message: OutboxMessage,
  owed: readonly WebhookEndpoint[],
): Promise<Map<string, OutboxMessage>> => {
  const blockers = new Map<string, OutboxMessage>();
  const query = { by: 'ordering', orderingKey: outboxOrderingKey(message) } as const;
  let cursor: string | null = null;
  do {
    const page = await store.listOutbox(query, { limit: ORDERING_PAGE, cursor });
    for (const older of page.items) {
      // Oldest first: everything from the event itself on is not older. Ties on the time are
      // broken by the store's order, which the event's own place in the listing stands for.
      if (older.id === message.id || older.occurredAtEpochMs > message.occurredAtEpochMs) {
        return blockers;
      }
      for (const endpoint of owed) {
        if (!older.deliveredTo.includes(endpoint.id) && !blockers.has(endpoint.id)) {
          blockers.set(endpoint.id, older);
        }
      }
      // Every endpoint is held back already: a purchase with a long backlog costs one page.
      if (blockers.size === owed.length) return blockers;
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return blockers;
};

const attemptOf = (
  deps: DeliverWebhooksDeps,
  message: OutboxMessage,
  tried: Try,
): DeliveryAttempt => ({
  messageId: message.id,
  endpointId: tried.endpoint.id,
  attempt: message.attempts,
  atEpochMs: tried.atEpochMs,
  statusCode: tried.result.kind === 'answered' ? tried.result.statusCode : null,
  latencyMs: tried.result.latencyMs,
  outcome: tried.delivered ? 'delivered' : 'failed',
  error: tried.delivered ? null : reasonOf(tried.result),
  expiresAtEpochSeconds: Math.floor(tried.atEpochMs / 1000) + deps.deliveryLogTtlSeconds,
});

/**
 * What the events of one run share: the endpoints that gave no answer (a timeout, a refused
 * connection) in it. Each event sent there would wait out the same timeout, holding up its
 * delivery to the healthy endpoints too, so the run sends no more there.
 */
interface RunState {
  readonly unreachable: Set<string>;
}

/** The next try of an event after its current attempt, or `give_up` past its horizon. */
const nextAttemptOf = (deps: DeliverWebhooksDeps, message: OutboxMessage) =>
  nextWebhookAttempt({
    nowEpochMs: deps.clock.now(),
    attempt: message.attempts,
    random: deps.random(),
    occurredAtEpochMs: message.occurredAtEpochMs,
    replayedAtEpochMs: message.replayedAtEpochMs,
    retryHorizonMs: deps.retryHorizonMs,
  });

/** Marks an event failed for good (replayable), with why, at the end of its horizon. */
const giveUp = async (
  deps: DeliverWebhooksDeps,
  message: OutboxMessage,
  lastError: string,
  deliveredNow: readonly string[],
): Promise<'failed'> => {
  await deps.store.failOutbox(message, lastError, deliveredNow);
  deps.logger.warn('webhook given up at the end of the retry horizon', {
    messageId: message.id,
    type: message.type,
    attempts: message.attempts,
    lastError,
  });
  return 'failed';
};

/**
 * Puts off an event that some endpoint it owes was not tried at, through no failure: held back
 * behind an older event of its purchase, or skipped at an endpoint unreachable in this run. No
 * attempt is counted (the claim's is given back) and the last real error stays. It comes round
 * again at the soonest moment either can clear: just after the earliest event it waits for is
 * due (it waits as long as that one is pending, and each is delivered or given up at its own
 * horizon), or after the backoff of its current attempt at a skipped endpoint, for an endpoint
 * that is down to be tried again by a later run. An endpoint that stays down past the event's
 * horizon gives the event up as a failed try would, or it would be put off for ever.
 */
const deferMessage = async (
  deps: DeliverWebhooksDeps,
  message: OutboxMessage,
  skip: { blockers: Map<string, OutboxMessage>; unreachable: readonly WebhookEndpoint[] },
  deliveredNow: readonly string[],
): Promise<'deferred' | 'failed'> => {
  const nowEpochMs = deps.clock.now();
  const times: number[] = [];
  const blockers = [...skip.blockers.entries()];
  if (blockers.length > 0) {
    const [endpointId, blocker] = blockers.reduce((soonest, entry) =>
      entry[1].nextAttemptAtEpochMs < soonest[1].nextAttemptAtEpochMs ? entry : soonest,
    );
    times.push(Math.max(blocker.nextAttemptAtEpochMs + 1, nowEpochMs + MIN_DEFER_MS));
    deps.logger.info('webhook held back behind an older event of its purchase', {
      messageId: message.id,
      endpointId,
      waitingFor: blocker.id,
    });
  }
  if (skip.unreachable.length > 0) {
    const endpointIds = skip.unreachable.map((endpoint) => endpoint.id);
    const next = nextAttemptOf(deps, message);
    if (next.kind === 'give_up') {
      const lastError = shorten(
        endpointIds.map((id) => `${id}: unreachable until the end of the retry horizon`).join('; '),
      );
      return giveUp(deps, message, lastError, deliveredNow);
    }
    times.push(next.atEpochMs);
    deps.logger.info('webhook not sent to endpoints unreachable earlier in this run', {
      messageId: message.id,
      endpointIds,
    });
  }
  await deps.store.deferOutbox(message, Math.min(...times), deliveredNow);
  return 'deferred';
};

/** Sends one claimed event to every endpoint it still owes and records what became of it. */
const deliverMessage = async (
  deps: DeliverWebhooksDeps,
  run: RunState,
  message: OutboxMessage,
): Promise<Outcome> => {
  const { store } = deps;
  const owed = deps.endpoints.filter((endpoint) => !message.deliveredTo.includes(endpoint.id));
  if (owed.length === 0) {
    await store.ackOutbox(message);
    return 'delivered';
  }
  const blockers = await blockersOf(store, message, owed);
  const free = owed.filter((endpoint) => !blockers.has(endpoint.id));
  const unreachable = free.filter((endpoint) => run.unreachable.has(endpoint.id));
  const body = JSON.stringify(vendorEventEnvelope(message));
  const tries = await Promise.all(
    free
      .filter((endpoint) => !run.unreachable.has(endpoint.id))
      .map(async (endpoint): Promise<Try> => {
        const atEpochMs = deps.clock.now();
        const result = await deps.sender.send({ endpoint, messageId: message.id, body });
        return { endpoint, atEpochMs, result, delivered: isSuccess(result) };
      }),
  );
  await Promise.all(
    tries.map((tried) => store.recordDeliveryAttempt(attemptOf(deps, message, tried))),
  );

  const deliveredNow = tries.filter((tried) => tried.delivered).map((tried) => tried.endpoint.id);
  const failures = tries.filter((tried) => !tried.delivered);
  for (const failure of failures) {
    deps.logger.info('webhook not delivered', {
      messageId: message.id,
      endpointId: failure.endpoint.id,
      attempt: message.attempts,
      statusCode: failure.result.kind === 'answered' ? failure.result.statusCode : null,
      error: reasonOf(failure.result),
    });
    if (failure.result.kind === 'no_answer' && !run.unreachable.has(failure.endpoint.id)) {
      run.unreachable.add(failure.endpoint.id);
      deps.logger.warn('webhook endpoint unreachable: no more sends to it in this run', {
        endpointId: failure.endpoint.id,
        error: failure.result.error,
      });
    }
  }
  if (failures.length > 0) {
    const lastError = shorten(
      failures.map((failure) => `${failure.endpoint.id}: ${reasonOf(failure.result)}`).join('; '),
    );
    const next = nextAttemptOf(deps, message);
    if (next.kind === 'give_up') return giveUp(deps, message, lastError, deliveredNow);
    // An endpoint held back or skipped is looked at again then too: it may well be free.
    await store.retryOutboxAt(message, next.atEpochMs, lastError, deliveredNow);
    return 'retried';
  }
  if (blockers.size > 0 || unreachable.length > 0) {
    return deferMessage(deps, message, { blockers, unreachable }, deliveredNow);
  }
  await store.ackOutbox(message);
  return 'delivered';
};

/** The batch by ordering key, each key's events oldest first as the store lists them. */
const byOrderingKey = (batch: readonly OutboxMessage[]): OutboxMessage[][] => {
  const groups = new Map<string, OutboxMessage[]>();
  for (const message of batch) {
    const key = outboxOrderingKey(message);
    groups.set(key, [...(groups.get(key) ?? []), message]);
  }
  return [...groups.values()].map((messages) =>
    messages.sort(
      (a, b) =>
        a.occurredAtEpochMs - b.occurredAtEpochMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    ),
  );
};

/**
 * Delivers the due outbox events to the vendor's webhook endpoints: the scheduled run (every
 * due event, up to `limit` and `budgetMs`) and the attempt right after a write (`ids`).
 *
 * 1. Claims due events, oldest first, a batch at a time; the claim hides them from other runs
 *    for `leaseMs` and counts the attempt.
 * 2. Sends each event to every endpoint it has not reached yet, except one an older pending
 *    event of the same purchase (see `outboxOrderingKey`) has not reached: an endpoint gets a
 *    purchase's events in the order they occurred. In a batch, one purchase's events go one
 *    after the other and different purchases' side by side. Once an endpoint times out or
 *    refuses the connection, the run sends it nothing more, so that the others do not wait on
 *    it event after event.
 * 3. Writes every try to the delivery log: status, latency, outcome, a short error.
 * 4. A 2xx from every endpoint acknowledges the event. Anything else (3xx, 4xx, 5xx, timeout,
 *    no connection) retries it after a jittered exponential backoff at the endpoints that did
 *    not take it, or gives it up once that retry would fall after the retry horizon. An event
 *    only held back or kept from an unreachable endpoint is not failed: it gets its attempt
 *    back and comes round again later.
 *
 * Does nothing without endpoints. Delivery is at least once: the vendor's app drops repeats by
 * the event id. A store failure on one event does not stop the others; the run then throws it
 * at the end, and the event waits for its lease to run out.
 */
export const deliverWebhooks = async (
  deps: DeliverWebhooksDeps,
  input: DeliverWebhooksInput = {},
): Promise<DeliverWebhooksResult> => {
  const { attemptTimeoutMs } = input;
  if (attemptTimeoutMs !== undefined) {
    const { sender } = deps;
    deps = {
      ...deps,
      sender: { send: (request) => sender.send({ ...request, timeoutMs: attemptTimeoutMs }) },
    };
  }
  const counts = { claimed: 0, delivered: 0, retried: 0, failed: 0, deferred: 0 };
  if (deps.endpoints.length === 0 || input.ids?.length === 0) return counts;
  const startedAtEpochMs = deps.clock.now();
  const limit = input.limit ?? (input.ids ? input.ids.length : DEFAULT_RUN_LIMIT);
  const budgetMs = input.budgetMs ?? Number.POSITIVE_INFINITY;
  const errors: unknown[] = [];
  const run: RunState = { unreachable: new Set() };

  while (counts.claimed < limit && deps.clock.now() - startedAtEpochMs < budgetMs) {
    const wanted = Math.min(WEBHOOK_CLAIM_BATCH, limit - counts.claimed);
    const batch = await deps.store.claimOutbox({
      nowEpochMs: deps.clock.now(),
      limit: wanted,
      leaseMs: deps.leaseMs,
      ...(input.ids ? { ids: input.ids } : {}),
    });
    counts.claimed += batch.length;
    await inParallel(byOrderingKey(batch), KEY_CONCURRENCY, async (messages) => {
      for (const message of messages) {
        try {
          counts[await deliverMessage(deps, run, message)] += 1;
        } catch (error) {
          // The event keeps its lease and comes round again once it ends; a later event of the
          // same purchase sees it still pending and waits for it.
          deps.logger.error('webhook delivery failed in the store', {
            messageId: message.id,
            error,
          });
          errors.push(error);
        }
      }
    });
    // A claim that finds nothing ends the run. One that comes back short may only have lost
    // some of what it saw to another run, so the run claims again, unless it was a claim of
    // given ids: that one looked at every id.
    if (batch.length === 0 || (input.ids !== undefined && batch.length < wanted)) break;
  }

  if (counts.claimed > 0) deps.logger.debug('webhook delivery run', counts);
  if (errors.length > 0) throw errors[0];
  return counts;
};

/**
 * The attempt right after a write: only `ids`, a short wait per endpoint, and a failure logged,
 * never thrown, since the write stands and the scheduled run catches up.
 */
export const deliverRightAway = async (
  deps: DeliverWebhooksDeps,
  ids: readonly string[],
): Promise<void> => {
  if (deps.endpoints.length === 0 || ids.length === 0) return;
  await deliverWebhooks(deps, { ids, attemptTimeoutMs: AFTER_WRITE_TIMEOUT_MS }).catch(
    (error: unknown) =>
      deps.logger.warn('webhook delivery after a write failed; the scheduled run retries', {
        error,
      }),
  );
};

/**
 * `deps.store` that tries to deliver what each applied decision, or each usage hour marked with
 * its news, put in the outbox right after writing it (`deliverRightAway`), so the vendor hears
 * of a change at once rather than at the next scheduled run.
 */
export const withWebhookDelivery = (deps: DeliverWebhooksDeps): Store => {
  if (deps.endpoints.length === 0) return deps.store;
  return {
    ...deps.store,
    applyDecision: async (decision) => {
      const result = await deps.store.applyDecision(decision);
      if (result === 'applied') {
        await deliverRightAway(
          deps,
          decision.outbox.map((message) => message.id),
        );
      }
      return result;
    },
    markUsageHour: async (key, state, answer, news) => {
      const hour = await deps.store.markUsageHour(key, state, answer, news);
      if (news) {
        await deliverRightAway(
          deps,
          news.outbox.map((message) => message.id),
        );
      }
      return hour;
    },
  };
};
