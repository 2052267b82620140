import { entitlementEventData, outboxMessagesFor } from '../domain/decision';
import type { Entitlement, UsageHour } from '../domain/model';
import { toIsoHour } from '../domain/time';
import type { EntitlementEventData, UsageEventData } from '../domain/vendor-event-schemas';
import { VendorEventType } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';

/** The purchase fields of a usage event whose purchase was not at hand: present, and null. */
const UNKNOWN_PURCHASE: { [K in keyof EntitlementEventData]: null } = {
  status: null,
  plan: null,
  pendingPlan: null,
  productId: null,
  offerId: null,
  freeTrial: null,
};

/**
 * Tells the vendor that an hour of usage was refused (`usage.rejected`) or that reporting for
 * the entitlement stopped (`usage.reporting_stopped`): one outbox message per hour, written
 * with an event record whose id is the hour's, so telling twice writes once.
 */
export const tellVendorAboutUsage = async (
  deps: { readonly store: Store; readonly clock: Clock; readonly eventTtlSeconds: number },
  hour: UsageHour,
  entitlement: Entitlement | null,
  type: typeof VendorEventType.usageRejected | typeof VendorEventType.usageReportingStopped,
  reason: string,
): Promise<void> => {
  const now = deps.clock.now();
  const eventId = `usage:${hour.entitlementId}:${hour.dimension}:${toIsoHour(hour.hourStartEpochMs)}`;
  const details = {
    dimension: hour.dimension,
    hourStartEpochMs: hour.hourStartEpochMs,
    quantity: hour.quantity,
  };
  // Every field in every event, null when unknown: the published shape does not vary.
  const data: UsageEventData = {
    ...(entitlement ? entitlementEventData(entitlement) : UNKNOWN_PURCHASE),
    ...details,
    hourStart: toIsoHour(hour.hourStartEpochMs),
    reason,
  };
  const [message] = outboxMessagesFor(
    { cloud: hour.cloud, eventId },
    [type],
    {
      accountId: entitlement?.accountId ?? null,
      entitlement,
      tenantId: entitlement?.tenantId ?? null,
    },
    now,
  );
  await deps.store.applyDecision({
    event: {
      cloud: hour.cloud,
      eventId,
      type:
        type === VendorEventType.usageReportingStopped
          ? 'USAGE_REPORTING_STOPPED'
          : 'USAGE_REJECTED',
      accountId: entitlement?.accountId ?? null,
      entitlementId: hour.entitlementId,
      outcome: 'applied',
      reason,
      payload: details,
      receivedAtEpochMs: now,
      expiresAtEpochSeconds: Math.floor(now / 1000) + deps.eventTtlSeconds,
    },
    account: null,
    entitlement: null,
    // The hour names its purchase even when the purchase is no longer readable.
    outbox: [{ ...message!, entitlementId: hour.entitlementId, data }],
  });
};
