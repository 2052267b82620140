import { billsUsageAt } from '../domain/entitlement';
import { isRetryable } from '../domain/errors';
import type { Entitlement, UsageHour } from '../domain/model';
import { hourWindow, STOP_SERVICE_CODES, usageOperationId } from '../domain/usage-window';
import type { UsageNewsType } from '../domain/usage-news';
import { VendorEventType } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import type { UsageProblem, UsageReporter } from '../ports/usage-reporter';
import { rejectUsageHour } from './reject-usage-hour';
import { addZeroUsageHours } from './zero-usage-hours';
import { allEntitlements } from './all-entitlements';

/** plan → usage dimension → Service Control metric name (they differ per plan). */
export type UsageMetrics = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface ReportUsageDeps {
  readonly store: Store;
  readonly reporter: UsageReporter;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: UsageMetrics;
  readonly eventTtlSeconds: number;
  /** Closed hours given a zero row when nothing was recorded, so windows stay contiguous. */
  readonly backfillHours?: number;
}

export interface ReportUsageResult {
  readonly sent: number;
  readonly rejected: number;
  /** Hours left sealed for the next run because Service Control failed for now. */
  readonly deferred: number;
  /** Entitlements whose check said to stop serving them. */
  readonly stopped: readonly string[];
}

const REPORTABLE = ['active', 'pending_plan_change', 'pending_cancellation'] as const;
const PAGE = 200;

/**
 * The hourly report to Google: every closed, unsent usage hour of a usable entitlement, and of
 * an ended one the hours that began before its end (its final usage), is sealed, checked and reported as one operation over exactly that hour, with a UUIDv5
 * operation id from (entitlement, metric, hour), so a retry after a crash is the same operation
 * with the same quantity. Hours without usage are reported as 0, which keeps each window
 * starting where the previous one ended. A check that says to stop serving the consumer stops
 * reporting for it and tells the vendor (`usage.reporting_stopped`); a rejected operation is
 * recorded with Google's reason and the vendor told (`usage.rejected`).
 */
export const reportUsageToServiceControl = async (
  deps: ReportUsageDeps,
): Promise<ReportUsageResult> => {
  const now = deps.clock.now();
  const entitlements: Map<string, Entitlement | null> = await usageEntitlements(deps);
  await addZeroUsageHours(
    deps,
    [...entitlements.values()].filter((entitlement) => entitlement !== null),
    (entitlement) => Object.keys(deps.metrics[entitlement.plan ?? ''] ?? {}),
    { nowEpochMs: now, hours: deps.backfillHours ?? 6 },
  );

  let sent = 0;
  let rejected = 0;
  let deferred = 0;
  const stopped = new Set<string>();
  const paused = new Set<string>();
  // An hour of a purchase no longer usable (its final usage, or usage of one that never was)
  // is rare: its purchase is read once, when its first hour comes up.
  const entitlementOf = async (id: string): Promise<Entitlement | null> => {
    if (!entitlements.has(id)) {
      const stored = await deps.store.getEntitlement({ cloud: 'gcp', id });
      entitlements.set(id, stored?.usageReportingId ? stored : null);
    }
    return entitlements.get(id) ?? null;
  };
  let cursor: string | null = null;
  do {
    const page = await deps.store.listUnsentUsageHours(
      { cloud: 'gcp', beforeEpochMs: now },
      { limit: PAGE, cursor },
    );
    for (const hour of page.items) {
      if (stopped.has(hour.entitlementId) || paused.has(hour.entitlementId)) continue;
      const outcome = await reportHour(deps, hour, await entitlementOf(hour.entitlementId));
      if (outcome === 'sent') sent += 1;
      else if (outcome === 'deferred') {
        deferred += 1;
        // Keep this entitlement's windows in order: its later hours wait for the next run.
        paused.add(hour.entitlementId);
      } else {
        rejected += 1;
        if (outcome === 'stopped') stopped.add(hour.entitlementId);
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  deps.logger.info('usage reported', { sent, rejected, deferred, stopped: stopped.size });
  return { sent, rejected, deferred, stopped: [...stopped] };
};

/** Usable Google entitlements that bill usage, by id. */
const usageEntitlements = async (deps: ReportUsageDeps): Promise<Map<string, Entitlement>> => {
  const found = new Map<string, Entitlement>();
  for (const status of REPORTABLE) {
    for await (const e of allEntitlements(deps.store, { by: 'status', status }, 1_000)) {
      if (e.cloud === 'gcp' && e.usageReportingId) found.set(e.id, e);
    }
  }
  return found;
};

type HourOutcome = 'sent' | 'rejected' | 'stopped' | 'deferred';

const describeProblems = (problems: readonly UsageProblem[]) =>
  problems.map((p) => `${p.code}${p.detail ? `: ${p.detail}` : ''}`).join('; ');

const reportHour = async (
  deps: ReportUsageDeps,
  hour: UsageHour,
  entitlement: Entitlement | null,
): Promise<HourOutcome> => {
  const sealed = await deps.store.sealUsageHour(hour, deps.clock.now());
  const reject = async (reason: string, type: UsageNewsType): Promise<void> => {
    await rejectUsageHour(deps, { hour: sealed, entitlement, type, reason });
  };
  if (
    !entitlement ||
    !billsUsageAt(entitlement, sealed.hourStartEpochMs) ||
    !entitlement.usageReportingId
  ) {
    await reject(
      'the entitlement was not active in this hour or bills no usage',
      VendorEventType.usageRejected,
    );
    return 'rejected';
  }
  const metricName = deps.metrics[entitlement.plan ?? '']?.[sealed.dimension];
  if (!metricName) {
    await reject(
      `no metric is configured for plan "${entitlement.plan}" and dimension "${sealed.dimension}"`,
      VendorEventType.usageRejected,
    );
    return 'rejected';
  }
  const operation = {
    operationId: usageOperationId(entitlement.id, metricName, sealed.hourStartEpochMs),
    consumerId: entitlement.usageReportingId,
    metricName,
    quantity: sealed.quantity,
    ...hourWindow(sealed.hourStartEpochMs),
  };
  try {
    const problems = await deps.reporter.check(operation);
    if (problems.some((p) => STOP_SERVICE_CODES.has(p.code))) {
      await reject(`check: ${describeProblems(problems)}`, VendorEventType.usageReportingStopped);
      return 'stopped';
    }
    if (problems.length > 0) {
      await reject(`check: ${describeProblems(problems)}`, VendorEventType.usageRejected);
      return 'rejected';
    }
    const problem = (await deps.reporter.report([operation])).get(operation.operationId);
    if (problem) {
      await reject(`report: ${describeProblems([problem])}`, VendorEventType.usageRejected);
      return 'rejected';
    }
  } catch (error) {
    if (isRetryable(error)) {
      deps.logger.warn('Service Control failed; the hour stays sealed for the next run', { error });
      return 'deferred';
    }
    throw error;
  }
  await deps.store.markUsageHour(sealed, 'sent', {
    status: 'Success',
    meteringRecordId: operation.operationId,
    reason: null,
    atEpochMs: deps.clock.now(),
  });
  return 'sent';
};
