import type { SimClock } from './clock';
import { rfc3339 } from './clock';
import type { RecordedMessage } from './messages';

export interface RetryPolicy {
  /** Attempts per delivery, the first included (Pub/Sub's dead-letter minimum is 5). */
  readonly maxAttempts: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  minBackoffMs: 100,
  maxBackoffMs: 2_000,
};

/** Sends one attempt and resolves to the receiver's HTTP status; rejects when unreachable. */
export type SendAttempt = (signal: AbortSignal) => Promise<number>;

export interface DeliveryScheduler {
  /**
   * Starts delivering `message` and resolves once its first attempt is answered; failed
   * attempts are retried in the background with exponential backoff.
   */
  deliver(message: RecordedMessage, send: SendAttempt, retry?: RetryPolicy): Promise<void>;
  /**
   * Runs a delivery the caller drives itself (an SQS batch and its partial-batch answer):
   * `idle()` waits for it and `stop()` aborts its signal.
   */
  track<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Runs `task` after `delayMs` (a visibility timeout), counted as scheduled until it runs. */
  later(delayMs: number, task: () => void): void;
  /** Resolves `true` once nothing is in flight or scheduled, `false` after `timeoutMs`. */
  idle(timeoutMs?: number): Promise<boolean>;
  /** Cancels scheduled retries and aborts attempts in flight. */
  stop(): void;
}

// Pub/Sub acks a push on these; anything else (or no answer) is a nack.
const isAck = (status: number): boolean => status === 102 || (status >= 200 && status < 300);

export const createDeliveryScheduler = (clock: SimClock): DeliveryScheduler => {
  let inFlight = 0;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const controllers = new Set<AbortController>();
  const waiters = new Set<() => void>();

  const settle = (): void => {
    if (inFlight > 0 || timers.size > 0) return;
    for (const wake of [...waiters]) wake();
  };

  const attempt = async (
    message: RecordedMessage,
    send: SendAttempt,
    retry: RetryPolicy,
    tryNumber: number,
  ): Promise<void> => {
    inFlight += 1;
    message.state = 'delivering';
    const controller = new AbortController();
    controllers.add(controller);
    const startedMs = clock.nowMs();
    let status: number | undefined;
    let error: string | undefined;
    try {
      status = await send(controller.signal);
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    } finally {
      controllers.delete(controller);
    }
    message.attempts.push({
      number: message.attempts.length + 1,
      startedAt: rfc3339(startedMs),
      durationMs: Math.max(0, clock.nowMs() - startedMs),
      ...(status === undefined ? {} : { status }),
      ...(error === undefined ? {} : { error }),
    });
    if (status !== undefined && isAck(status)) {
      message.state = 'delivered';
    } else if (tryNumber < retry.maxAttempts && !stopped) {
      message.state = 'retrying';
      const backoffMs = Math.min(retry.maxBackoffMs, retry.minBackoffMs * 2 ** (tryNumber - 1));
      const timer = setTimeout(() => {
        timers.delete(timer);
        void attempt(message, send, retry, tryNumber + 1);
      }, backoffMs);
      timers.add(timer);
    } else {
      message.state = 'failed';
    }
    inFlight -= 1;
    settle();
  };

  const track = async <T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    inFlight += 1;
    const controller = new AbortController();
    controllers.add(controller);
    if (stopped) controller.abort();
    try {
      return await task(controller.signal);
    } finally {
      controllers.delete(controller);
      inFlight -= 1;
      settle();
    }
  };

  const later = (delayMs: number, task: () => void): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      try {
        task();
      } finally {
        settle();
      }
    }, delayMs);
    timers.add(timer);
  };

  return {
    deliver: (message, send, retry = DEFAULT_RETRY) => attempt(message, send, retry, 1),
    track,
    later,
    idle: (timeoutMs = 30_000) =>
      new Promise((resolve) => {
        if (inFlight === 0 && timers.size === 0) return resolve(true);
        const timeout = setTimeout(() => {
          waiters.delete(wake);
          resolve(false);
        }, timeoutMs);
        const wake = (): void => {
          clearTimeout(timeout);
          waiters.delete(wake);
          resolve(true);
        };
        waiters.add(wake);
      }),
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const controller of controllers) controller.abort();
      settle();
    },
  };
};
