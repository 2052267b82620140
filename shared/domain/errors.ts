/**
 * The one error hierarchy of the project. Callers decide what to do from `instanceof` and
 * `retryable`, never from `name` or `message`: a retryable error makes the trigger redeliver
 * (SQS batch item failure, Pub/Sub 5xx); any other error is recorded and acknowledged.
 */
export class MarketplaceError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: ErrorOptions & { retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** Input that can never succeed as sent: a malformed payload, key or item. */
export class ValidationError extends MarketplaceError {
  /** Where the problem is, for example `entitlement.id` or `body.quantity`. */
  readonly path: string | undefined;

  constructor(message: string, options: ErrorOptions & { path?: string } = {}) {
    super(message, { cause: options.cause, retryable: false });
    this.path = options.path;
  }
}

/** Configuration is missing or malformed; the message names every variable at fault. */
export class ConfigError extends MarketplaceError {
  readonly problems: ReadonlyArray<{ readonly variable: string; readonly problem: string }>;

  constructor(problems: ReadonlyArray<{ variable: string; problem: string }>) {
    super(
      `invalid configuration: ${problems.map((p) => `${p.variable} ${p.problem}`).join('; ')}`,
      { retryable: false },
    );
    this.problems = problems;
  }

  get variables(): string[] {
    return this.problems.map((p) => p.variable);
  }
}

/** The entitlement state machine has no edge for this (status, event) pair. */
export class InvalidTransitionError extends MarketplaceError {
  readonly from: string;
  readonly event: string;

  constructor(from: string, event: string) {
    super(`no transition from "${from}" on "${event}"`, { retryable: false });
    this.from = from;
    this.event = event;
  }
}

/**
 * A write lost a race: the stored record changed since it was read. Carries the record as it
 * is now (or `null` when it vanished) so the caller can decide again without another read.
 */
export class ConcurrencyConflictError<T = unknown> extends MarketplaceError {
  readonly current: T | null;

  constructor(message: string, current: T | null, options: ErrorOptions = {}) {
    super(message, { cause: options.cause, retryable: true });
    this.current = current;
  }
}

/** A caller failed to prove who it is: a missing, forged, expired or misdirected token. */
export class UnauthorizedError extends MarketplaceError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause, retryable: false });
  }
}

/** A record the caller named does not exist. */
export class NotFoundError extends MarketplaceError {
  constructor(what: string) {
    super(`${what} not found`, { retryable: false });
  }
}

/** Usage arrived for an hour that is already sealed for sending; it cannot be billed any more. */
export class UsageHourSealedError extends MarketplaceError {
  constructor(hour: string) {
    super(`usage hour ${hour} is sealed`, { retryable: false });
  }
}

/**
 * Adding a usage record would take its hour's total past `MAX_USAGE_QUANTITY`, which the
 * marketplace would refuse for the whole hour. `path` names the record (`records[<index>]`).
 */
export class UsageHourTotalTooLargeError extends ValidationError {}

/** The store could not be reached or throttled us; the same call may succeed later. */
export class StoreUnavailableError extends MarketplaceError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause, retryable: true });
  }
}

/** A marketplace API failed. `retryable` follows the API's own answer (throttling, 5xx). */
export class MarketplaceApiError extends MarketplaceError {
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(
    message: string,
    options: ErrorOptions & { retryable: boolean; status?: number; code?: string },
  ) {
    super(message, { cause: options.cause, retryable: options.retryable });
    this.status = options.status;
    this.code = options.code;
  }
}

/** True when redelivering the same input may succeed: only then does a trigger retry. */
export const isRetryable = (error: unknown): boolean =>
  error instanceof MarketplaceError && error.retryable;
