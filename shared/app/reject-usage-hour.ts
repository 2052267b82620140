import type { Entitlement, UsageHour, UsageHourKey } from '../domain/model';
import { usageNews } from '../domain/usage-news';
import type { UsageNewsType } from '../domain/usage-news';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';

/**
 * Records that an hour of usage was not billed and tells the vendor (`usage.rejected` or
 * `usage.reporting_stopped`) in one atomic write, so a crash can lose neither without the
 * other: the hour leaves the unsent list only with its event in the outbox.
 *
 * @throws ConcurrencyConflictError carrying the hour when it is not sealed (another run
 * answered it already); nothing is written then.
 */
export const rejectUsageHour = async (
  deps: { readonly store: Store; readonly clock: Clock; readonly eventTtlSeconds: number },
  rejected: {
    /** The sealed hour, with the quantity its seal froze. */
    readonly hour: UsageHourKey & { readonly quantity: number };
    readonly entitlement: Entitlement | null;
    readonly type: UsageNewsType;
    readonly reason: string;
    /** The marketplace's status for the record, `Rejected` when it gave none. */
    readonly status?: string;
  },
): Promise<UsageHour> => {
  const nowEpochMs = deps.clock.now();
  const { hour, reason } = rejected;
  return deps.store.markUsageHour(
    hour,
    'rejected',
    {
      status: rejected.status ?? 'Rejected',
      meteringRecordId: null,
      reason,
      atEpochMs: nowEpochMs,
    },
    usageNews({ ...rejected, nowEpochMs, eventTtlSeconds: deps.eventTtlSeconds }),
  );
};
