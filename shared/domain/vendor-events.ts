import { LifecycleEvent } from './entitlement';
import { CLOUDS } from './model';
import type { Cloud, EntitlementStatus, OutboxMessage } from './model';

/**
 * The events the vendor's app hears of, cloud-neutral and versioned. Each is written to the
 * outbox in the same atomic write as the change that caused it.
 */
export const VendorEventType = {
  entitlementPendingApproval: 'entitlement.pending_approval',
  entitlementActivated: 'entitlement.activated',
  entitlementPlanChangeRequested: 'entitlement.plan_change_requested',
  entitlementPlanChanged: 'entitlement.plan_changed',
  entitlementPlanChangeCancelled: 'entitlement.plan_change_cancelled',
  entitlementCancellationScheduled: 'entitlement.cancellation_scheduled',
  entitlementCancellationReverted: 'entitlement.cancellation_reverted',
  entitlementSuspended: 'entitlement.suspended',
  entitlementReinstated: 'entitlement.reinstated',
  entitlementRenewed: 'entitlement.renewed',
  entitlementUpdated: 'entitlement.updated',
  entitlementCancelled: 'entitlement.cancelled',
  entitlementDeleted: 'entitlement.deleted',
  accountSignedUp: 'account.signed_up',
  accountDeleted: 'account.deleted',
  /** An admin linked the account to a tenant through the vendor API. */
  accountLinked: 'account.linked',
  /** An admin unlinked the account from its tenant through the vendor API. */
  accountUnlinked: 'account.unlinked',
  usageRejected: 'usage.rejected',
  usageReportingStopped: 'usage.reporting_stopped',
} as const;
export type VendorEventType = (typeof VendorEventType)[keyof typeof VendorEventType];

/** The version of every payload shape in the catalogue; bumped on a breaking change. */
export const VENDOR_EVENT_VERSION = 1;

const V = VendorEventType;
const E = LifecycleEvent;

/** The vendor event each lifecycle event produces. */
export const VENDOR_EVENT_OF: Readonly<Record<LifecycleEvent, VendorEventType>> = {
  [E.activated]: V.entitlementActivated,
  [E.planChangeRequested]: V.entitlementPlanChangeRequested,
  [E.planChanged]: V.entitlementPlanChanged,
  [E.planChangeCancelled]: V.entitlementPlanChangeCancelled,
  [E.cancellationScheduled]: V.entitlementCancellationScheduled,
  [E.cancellationReverted]: V.entitlementCancellationReverted,
  [E.suspended]: V.entitlementSuspended,
  [E.reinstated]: V.entitlementReinstated,
  [E.renewed]: V.entitlementRenewed,
  [E.updated]: V.entitlementUpdated,
  [E.cancelled]: V.entitlementCancelled,
  [E.deleted]: V.entitlementDeleted,
};

/** A purchase first seen waiting for approval has no lifecycle event yet, only this one. */
export const vendorEventOfNewStatus = (status: EntitlementStatus): VendorEventType | null =>
  status === 'pending_approval' ? V.entitlementPendingApproval : null;

/**
 * How the vendor names a marketplace record: `<cloud>:<marketplace id>` (`gcp:<entitlement id>`,
 * `aws:<LicenseArn>`). One id across clouds, in webhooks and in the vendor API alike.
 */
export const vendorIdOf = (ref: { readonly cloud: Cloud; readonly id: string }): string =>
  `${ref.cloud}:${ref.id}`;

/** The record a vendor id names, or `null` when it names no cloud or no id. */
export const refOfVendorId = (vendorId: string): { cloud: Cloud; id: string } | null => {
  const separator = vendorId.indexOf(':');
  const cloud = vendorId.slice(0, separator);
  const id = vendorId.slice(separator + 1);
  return separator > 0 && id !== '' && (CLOUDS as readonly string[]).includes(cloud)
    ? { cloud: cloud as Cloud, id }
    : null;
};

/** The body of a webhook and of the vendor API's event log: what the vendor's app receives. */
export interface VendorEventEnvelope {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  /** ISO 8601, UTC. */
  readonly occurredAt: string;
  readonly cloud: Cloud;
  /** Vendor ids (see `vendorIdOf`), `null` when the event concerns no such record. */
  readonly accountId: string | null;
  readonly entitlementId: string | null;
  readonly tenantId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

export const vendorEventEnvelope = (message: OutboxMessage): VendorEventEnvelope => ({
  id: message.id,
  type: message.type,
  version: message.version,
  occurredAt: new Date(message.occurredAtEpochMs).toISOString(),
  cloud: message.cloud,
  accountId:
    message.accountId === null ? null : vendorIdOf({ cloud: message.cloud, id: message.accountId }),
  entitlementId:
    message.entitlementId === null
      ? null
      : vendorIdOf({ cloud: message.cloud, id: message.entitlementId }),
  tenantId: message.tenantId,
  data: message.data,
});
