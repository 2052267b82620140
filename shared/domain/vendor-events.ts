import { LifecycleEvent } from './entitlement';
import type { EntitlementStatus } from './model';

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
