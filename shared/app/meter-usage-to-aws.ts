import { isUsable } from '../domain/entitlement';
import { isRetryable, MarketplaceApiError } from '../domain/errors';
import type { Entitlement, UsageHour } from '../domain/model';
import { HOUR_MS, hourStartEpochMs } from '../domain/time';
import { VendorEventType } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import type {
  MeteredCustomer,
  MeteringRecord,
  MeteringResult,
  UsageMeter,
} from '../ports/usage-meter';
import type { RateLimiter } from './rate-limiter';
import { rejectUsageHour } from './reject-usage-hour';
import { addZeroUsageHours } from './zero-usage-hours';
import { allEntitlements } from './all-entitlements';

/** BatchMeterUsage takes at most 25 records a call. */
export const MAX_RECORDS_PER_CALL = 25;

export interface MeterUsageDeps {
  readonly store: Store;
  readonly meter: UsageMeter;
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly eventTtlSeconds: number;
  /** The listing's metered dimensions: every subscribed buyer gets a 0 for an hour without usage. */
  readonly zeroDimensions: readonly string[];
  /** How long after an hour AWS still accepts it (24 h today; it has changed before). */
  readonly windowHours: number;
  /** Attempts of one call through throttling and 5xx, and re-sends of unprocessed records. */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface MeterUsageOptions {
  /**
   * Meter this entitlement only, the hour still open included: the buyer is leaving
   * (unsubscribe-pending, a deprovisioned license) and AWS takes final records for about an hour.
   */
  readonly flushEntitlementId?: string;
  /** Say what would be sent; send, seal and record nothing. */
  readonly dryRun?: boolean;
}

export interface MeterUsageResult {
  readonly sent: number;
  readonly rejected: number;
  /** Left for the next run: AWS kept failing or throttling, or refused the deployment. */
  readonly deferred: number;
  /** Held back: the buyer's subscription is not confirmed yet. */
  readonly waiting: number;
  /** Unsent hours that leave AWS's window within two hours: an alarm when above 0. */
  readonly nearWindowEnd: number;
  /** With `dryRun`: what would be sent. */
  readonly wouldSend?: readonly MeteringRecord[];
}

/** Whom AWS bills for an entitlement: its license, or the legacy customer identifier. */
export const meteredCustomerOf = (entitlement: Entitlement): MeteredCustomer =>
  entitlement.id.startsWith('arn:')
    ? { licenseArn: entitlement.id, customerAWSAccountId: entitlement.accountId }
    : { customerIdentifier: entitlement.accountId };

/** Never sent before the subscription is confirmed; AWS decides about the ones that ended. */
const sendable = (entitlement: Entitlement | null): entitlement is Entitlement =>
  entitlement !== null && entitlement.status !== 'pending_approval';

const PAGE = 500;

/**
 * The hourly metering run for AWS Marketplace, exactly once per (license or customer,
 * dimension, hour):
 * - every closed hour (and, for a buyer leaving, the open one) is sealed before it is sent,
 *   so a re-send after a crash carries the same quantity, allocations and timestamp, which AWS
 *   accepts again without billing twice;
 * - records go in calls of at most 25, each call waiting for the rate limiter;
 * - per-record answers are recorded: Success is sent; CustomerNotSubscribed and DuplicateRecord
 *   are rejected with the reason and the vendor is told; unprocessed records are sent again;
 * - a call AWS refuses as a whole is split in halves until the record at fault stands alone
 *   and is rejected with AWS's reason, so one bad record never blocks the others; a
 *   ValidationException is a record's fault only when others of its call went through, and
 *   rejects nothing when every record is refused alike;
 * - throttling and 5xx are retried with jittered backoff; what still fails stays sealed for
 *   the next run.
 */
export const meterUsageToAws = async (
  deps: MeterUsageDeps,
  options: MeterUsageOptions = {},
): Promise<MeterUsageResult> => {
  const now = deps.clock.now();
  const flushing = options.flushEntitlementId;
  const subscribed = flushing
    ? await oneEntitlement(deps.store, flushing)
    : await subscribedEntitlements(deps.store);
  if (!options.dryRun) {
    // Zeros for subscribed buyers only: a flush also comes for a purchase that failed before it
    // was ever confirmed, and no hour of it may be metered on our own initiative.
    const zeroed = [...subscribed.values()].filter((e) => isUsable(e.status));
    await addZeroUsageHours(deps, zeroed, () => deps.zeroDimensions, {
      nowEpochMs: now,
      hours: 3,
    });
  }
  const flushBefore = flushing ? hourStartEpochMs(now) + HOUR_MS : now;
  const due = await dueHours(deps.store, flushBefore, flushing, now);
  const entitlements = new Map(subscribed);
  const records: MeteringRecord[] = [];
  let waiting = 0;
  for (const hour of due) {
    if (!entitlements.has(hour.entitlementId)) {
      const found = await deps.store.getEntitlement({ cloud: 'aws', id: hour.entitlementId });
      if (found) entitlements.set(found.id, found);
    }
    const entitlement = entitlements.get(hour.entitlementId) ?? null;
    if (!sendable(entitlement)) {
      waiting += 1;
      continue;
    }
    records.push({
      hour,
      customer: meteredCustomerOf(entitlement),
      quantity: hour.quantity,
      allocations: hour.allocations,
    });
  }
  const nearWindowEnd = due.filter(
    (hour) => hour.hourStartEpochMs + (deps.windowHours - 2) * HOUR_MS <= now,
  ).length;
  if (options.dryRun) {
    return { sent: 0, rejected: 0, deferred: 0, waiting, nearWindowEnd, wouldSend: records };
  }

  const tally = { sent: 0, rejected: 0, deferred: 0 };
  let refusedWhole = false;
  for (let i = 0; i < records.length; i += MAX_RECORDS_PER_CALL) {
    const batch = records.slice(i, i + MAX_RECORDS_PER_CALL);
    if (refusedWhole) {
      tally.deferred += batch.length;
      continue;
    }
    // Sealed right before the call, all at once; what the seal froze is what is sent,
    // allocations included, so a re-send after a crash is the same record.
    const sealed = await settleAll(
      batch.map(async (record): Promise<MeteringRecord> => {
        const hour = await deps.store.sealUsageHour(record.hour, deps.clock.now());
        return { ...record, hour, quantity: hour.quantity, allocations: hour.allocations };
      }),
    );
    const bisection: Bisection = { answered: false, suspects: [] };
    const outcome = await sendBatch(deps, sealed, entitlements, tally, bisection);
    refusedWhole =
      (await settleSuspects(deps, bisection, outcome, entitlements, tally)) === 'refused';
  }
  deps.logger.info('metering run', { ...tally, waiting, nearWindowEnd });
  if (nearWindowEnd > 0) {
    deps.logger.warn('usage hours are about to leave the metering window', { nearWindowEnd });
  }
  return { ...tally, waiting, nearWindowEnd };
};

/**
 * Waits for every write to finish before failing with the first error: none is left in flight
 * behind a failure, so what the store holds afterwards is all there is.
 */
const settleAll = async <T>(writes: ReadonlyArray<Promise<T>>): Promise<T[]> => {
  const settled = await Promise.allSettled(writes);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
};

const oneEntitlement = async (store: Store, id: string): Promise<Map<string, Entitlement>> => {
  const found = await store.getEntitlement({ cloud: 'aws', id });
  return new Map(found ? [[found.id, found]] : []);
};

const subscribedEntitlements = async (store: Store): Promise<Map<string, Entitlement>> => {
  const found = new Map<string, Entitlement>();
  for (const status of ['active', 'pending_plan_change', 'pending_cancellation'] as const) {
    for await (const e of allEntitlements(store, { by: 'status', status }, 1_000)) {
      if (e.cloud === 'aws' && isUsable(e.status)) found.set(e.id, e);
    }
  }
  return found;
};

/** Closed unsent hours; when flushing, that entitlement's only, its open hour included. */
const dueHours = async (
  store: Store,
  flushBefore: number,
  flushEntitlementId: string | undefined,
  now: number,
): Promise<UsageHour[]> => {
  const hours: UsageHour[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listUnsentUsageHours(
      { cloud: 'aws', beforeEpochMs: flushBefore },
      { limit: PAGE, cursor },
    );
    for (const hour of page.items) {
      const closed = hour.hourStartEpochMs + HOUR_MS <= now;
      if (flushEntitlementId === undefined ? closed : hour.entitlementId === flushEntitlementId) {
        hours.push(hour);
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return hours;
};

interface Tally {
  sent: number;
  rejected: number;
  deferred: number;
}

const sleepFor = (deps: MeterUsageDeps) =>
  deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

const jitteredBackoffMs = (attempt: number) => Math.random() * Math.min(5_000, 200 * 2 ** attempt);

/**
 * BatchMeterUsage exceptions a record's own data causes: the call is refused whole, and halving
 * it finds the record. Any other refusal (DisabledApiException, InvalidProductCodeException,
 * AccessDenied, a bad signature) is about the deployment, and no record is to blame for it.
 */
const RECORD_FAULTS: ReadonlySet<string> = new Set([
  'TimestampOutOfBoundsException',
  'InvalidCustomerIdentifierException',
  'InvalidLicenseException',
  'InvalidUsageDimensionException',
  'InvalidUsageAllocationsException',
  'InvalidTagException',
]);

const isRecordFault = (error: unknown): boolean =>
  error instanceof MarketplaceApiError && RECORD_FAULTS.has(error.code ?? '');

/**
 * BatchMeterUsage exceptions for input that breaks a constraint of AWS's model: one record's
 * (a malformed account id, say) or the call's own. Halving finds such a record, but one refused
 * alone is to blame only when other records of its call went through.
 */
const MAYBE_RECORD_FAULTS: ReadonlySet<string> = new Set(['ValidationException']);

const mayBeRecordFault = (error: unknown): boolean =>
  error instanceof MarketplaceApiError && MAYBE_RECORD_FAULTS.has(error.code ?? '');

/** What halving one call found out. */
interface Bisection {
  /** Whether AWS took any part of the call, which shows the call itself is sound. */
  answered: boolean;
  /** Records refused alone with an exception that may be the call's rather than theirs. */
  readonly suspects: Array<{ readonly record: MeteringRecord; readonly error: unknown }>;
}

/**
 * Sends one call's records until each has an answer or the attempts run out.
 * @returns `refused` when AWS refused the call for a reason of the deployment: the records stay
 * sealed for the next run, and the rest of this run is not sent either.
 */
const sendBatch = async (
  deps: MeterUsageDeps,
  batch: readonly MeteringRecord[],
  entitlements: ReadonlyMap<string, Entitlement>,
  tally: Tally,
  bisection: Bisection,
): Promise<'done' | 'refused'> => {
  const maxAttempts = deps.maxAttempts ?? 5;
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    if (attempt > maxAttempts) {
      tally.deferred += pending.length;
      deps.logger.warn('metering deferred to the next run', { records: pending.length });
      return 'done';
    }
    await deps.limiter.acquire();
    let answer;
    try {
      answer = await deps.meter.meter(pending);
    } catch (error) {
      if (isRetryable(error)) {
        await sleepFor(deps)(jitteredBackoffMs(attempt));
        continue;
      }
      if (!isRecordFault(error) && !mayBeRecordFault(error)) {
        tally.deferred += pending.length;
        deps.logger.error('AWS refused metering for a reason no record explains', { error });
        return 'refused';
      }
      if (pending.length === 1) {
        if (mayBeRecordFault(error)) {
          bisection.suspects.push({ record: pending[0]!, error });
          return 'done';
        }
        bisection.answered = true;
        await reject(deps, pending[0]!, reasonOf(error), entitlements);
        tally.rejected += 1;
        return 'done';
      }
      // One bad record refuses the whole call: halve until it stands alone.
      const middle = Math.ceil(pending.length / 2);
      const first = await sendBatch(deps, pending.slice(0, middle), entitlements, tally, bisection);
      if (first === 'refused') {
        tally.deferred += pending.length - middle;
        return first;
      }
      return sendBatch(deps, pending.slice(middle), entitlements, tally, bisection);
    }
    bisection.answered = true;
    await settleAll(
      answer.results.map((result) => recordAnswer(deps, result, entitlements, tally)),
    );
    // Unprocessed records failed for a transient reason: send them again as they are.
    pending = answer.unprocessed;
    if (pending.length > 0) await sleepFor(deps)(jitteredBackoffMs(attempt));
  }
  return 'done';
};

/**
 * Settles the records a call's halving left in doubt: rejected with AWS's reason when other
 * records of the call went through, so the fault is theirs; otherwise (every record refused
 * alike, or the call refused for the deployment) left sealed, and the run stops, as for any
 * refusal no record explains.
 */
const settleSuspects = async (
  deps: MeterUsageDeps,
  bisection: Bisection,
  outcome: 'done' | 'refused',
  entitlements: ReadonlyMap<string, Entitlement>,
  tally: Tally,
): Promise<'done' | 'refused'> => {
  const { suspects } = bisection;
  if (suspects.length === 0) return outcome;
  if (outcome === 'refused' || !bisection.answered) {
    tally.deferred += suspects.length;
    if (outcome === 'done') {
      deps.logger.error('AWS refused metering for a reason no record explains', {
        error: suspects[0]!.error,
      });
    }
    return 'refused';
  }
  await settleAll(
    suspects.map(({ record, error }) => reject(deps, record, reasonOf(error), entitlements)),
  );
  tally.rejected += suspects.length;
  return 'done';
};

const recordAnswer = async (
  deps: MeterUsageDeps,
  result: MeteringResult,
  entitlements: ReadonlyMap<string, Entitlement>,
  tally: Tally,
): Promise<void> => {
  if (result.status === 'Success') {
    await deps.store.markUsageHour(result.record.hour, 'sent', {
      status: 'Success',
      meteringRecordId: result.meteringRecordId,
      reason: null,
      atEpochMs: deps.clock.now(),
    });
    tally.sent += 1;
    return;
  }
  const reason =
    result.status === 'DuplicateRecord'
      ? 'DuplicateRecord: AWS already has another quantity for this hour'
      : 'CustomerNotSubscribed: the buyer is not subscribed for this hour';
  await reject(deps, result.record, reason, entitlements, result.status);
  tally.rejected += 1;
};

/** Long enough for any message of AWS's; the rest of a longer one is not AWS's answer. */
const MAX_REASON_LENGTH = 500;

/** AWS's exception and its own message (which names the member at fault), else ours. */
const reasonOf = (error: unknown): string => {
  if (!(error instanceof MarketplaceApiError)) return 'refused by AWS Marketplace';
  const said = error.cause instanceof Error && error.cause.message ? error.cause.message : null;
  return `${error.code ?? 'Refused'}: ${said ?? error.message}`.slice(0, MAX_REASON_LENGTH);
};

const reject = (
  deps: MeterUsageDeps,
  record: MeteringRecord,
  reason: string,
  entitlements: ReadonlyMap<string, Entitlement>,
  status = 'Rejected',
): Promise<UsageHour> =>
  rejectUsageHour(deps, {
    hour: { ...record.hour, quantity: record.quantity },
    entitlement: entitlements.get(record.hour.entitlementId) ?? null,
    type: VendorEventType.usageRejected,
    reason,
    status,
  });
