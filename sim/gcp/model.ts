/**
 * The simulated marketplace's own records. They hold more than the API shows (whether an
 * approved offer waits for its start, the term's end, when billing stopped); the views in
 * `resource-views.ts` derive the API's per-state fields from them.
 */

export const ENTITLEMENT_STATES = [
  'ENTITLEMENT_ACTIVATION_REQUESTED',
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_CANCELLED',
  'ENTITLEMENT_PENDING_PLAN_CHANGE',
  'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
  'ENTITLEMENT_SUSPENDED',
] as const;
export type EntitlementState = (typeof ENTITLEMENT_STATES)[number];

/** States in which the product runs and usage is billed. */
export const BILLABLE_STATES: ReadonlySet<EntitlementState> = new Set([
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_PENDING_PLAN_CHANGE',
  // The buyer keeps the old plan while the provider decides.
  'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
]);

export type ApprovalState = 'PENDING' | 'APPROVED' | 'REJECTED';

export interface ApprovalRecord {
  readonly name: string;
  state: ApprovalState;
  reason?: string;
  updateTime: string;
}

export interface AccountRecord {
  readonly id: string;
  /** Creation order, for listing and page tokens. */
  readonly seq: number;
  readonly createTime: string;
  updateTime: string;
  approvals: ApprovalRecord[];
  /** `google.user_identity` of the buyer's signup tokens. */
  readonly userIdentity: string;
  /** `billingAccounts/{id}`, for the `customer_billing_account` filter. */
  readonly billingAccount: string;
  properties?: Record<string, string>;
}

export interface OfferTerms {
  /** `projects/{p}/services/{s}/privateOffers|standardOffers/{id}`. */
  readonly name: string;
  readonly kind: 'standard' | 'private';
  /** ISO 8601 term length, for an offer without a fixed end. */
  readonly duration?: string;
  /** A fixed end (RFC 3339). */
  readonly endTime?: string;
  /** A scheduled start (RFC 3339); private offers only. */
  readonly startTime?: string;
  /** Google approves the entitlement itself (private offers with automatic approval). */
  readonly autoApproval: boolean;
}

export interface EntitlementRecord {
  readonly id: string;
  readonly seq: number;
  readonly accountId: string;
  state: EntitlementState;
  plan: string;
  newPendingPlan?: string;
  offer: OfferTerms;
  pendingOffer?: OfferTerms;
  /** Every offer name the entitlement was on, oldest first (`change_history.new_offer`). */
  readonly offerHistory: string[];
  readonly usageReportingId?: string;
  messageToUser?: string;
  readonly consumers: readonly string[];
  readonly orderId: string;
  readonly productExternalName: string;
  readonly quoteExternalName?: string;
  readonly createTime: string;
  updateTime: string;
  cancellationReason?: string;
  /** Approved, but the offer starts later: still ACTIVATION_REQUESTED until `start-offer`. */
  waitingForStart: boolean;
  /** Expected end of the current (or upcoming) term, when the offer has one. */
  termEndMs?: number;
  /** When the current term began. */
  termStartMs?: number;
  /** End of the subscription once a cancellation is pending, or when it was cancelled. */
  subscriptionEndMs?: number;
  /** When billing last stopped (cancellation): usage for windows starting before it is accepted. */
  billableUntilMs?: number;
  /** Whether it was ever active: a cancelled entitlement that never ran bills nothing. */
  everActive: boolean;
}
