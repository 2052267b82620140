import { entitlementEventData, outboxMessagesFor } from './decision';
import type { Decision } from './decision';
import type { Entitlement, UsageHourKey } from './model';
import { toIsoHour } from './time';
import type { EntitlementEventData, UsageEventData } from './vendor-event-schemas';
import { VendorEventType } from './vendor-events';

/**
 * What the vendor is told of a usage hour the marketplace did not bill: the event record and
 * its outbox message, written in the same atomic write as the hour's answer.
 */
export type UsageNews = Pick<Decision, 'event' | 'outbox'>;

export type UsageNewsType =
  typeof VendorEventType.usageRejected | typeof VendorEventType.usageReportingStopped;

/** The purchase fields of a usage event whose purchase was not at hand: present, and null. */
const UNKNOWN_PURCHASE: { [K in keyof EntitlementEventData]: null } = {
  status: null,
  plan: null,
  pendingPlan: null,
  productId: null,
  offerId: null,
  freeTrial: null,
  contract: null,
};

/**
 * The news of an hour refused (`usage.rejected`) or of reporting stopped for its entitlement
 * (`usage.reporting_stopped`): one outbox message, with an event record whose id is the hour's,
 * so the hour is told of once however often it is marked.
 */
export const usageNews = (input: {
  readonly hour: UsageHourKey & { readonly quantity: number };
  readonly entitlement: Entitlement | null;
  readonly type: UsageNewsType;
  readonly reason: string;
  readonly nowEpochMs: number;
  readonly eventTtlSeconds: number;
}): UsageNews => {
  const { hour, entitlement, type, reason, nowEpochMs } = input;
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
    nowEpochMs,
  );
  return {
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
      receivedAtEpochMs: nowEpochMs,
      expiresAtEpochSeconds: Math.floor(nowEpochMs / 1000) + input.eventTtlSeconds,
    },
    // The hour names its purchase even when the purchase is no longer readable.
    outbox: [{ ...message!, entitlementId: hour.entitlementId, data }],
  };
};
