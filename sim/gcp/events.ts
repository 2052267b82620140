/**
 * The JSON Google Cloud Marketplace publishes to the provider's Pub/Sub topic, carried
 * base64-encoded in `message.data`. Account messages carry `eventType` as real messages do,
 * though the documentation's example leaves it out.
 */

export const ACCOUNT_EVENT_TYPES = ['ACCOUNT_ACTIVE', 'ACCOUNT_DELETED'] as const;
export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];

export const ENTITLEMENT_EVENT_TYPES = [
  'ENTITLEMENT_CREATION_REQUESTED',
  'ENTITLEMENT_OFFER_ACCEPTED',
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
  'ENTITLEMENT_PLAN_CHANGED',
  'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_CANCELLATION_REVERTED',
  'ENTITLEMENT_CANCELLING',
  'ENTITLEMENT_CANCELLED',
  'ENTITLEMENT_RENEWED',
  'ENTITLEMENT_OFFER_ENDED',
  'ENTITLEMENT_DELETED',
] as const;
export type EntitlementEventType = (typeof ENTITLEMENT_EVENT_TYPES)[number];

export interface AccountMessage {
  readonly eventId: string;
  readonly eventType: AccountEventType;
  readonly providerId: string;
  readonly account: { readonly id: string; readonly updateTime: string };
}

export interface EntitlementMessage {
  readonly eventId: string;
  readonly eventType: EntitlementEventType;
  readonly providerId: string;
  readonly entitlement: {
    readonly id: string;
    readonly updateTime: string;
    /** On plan changes. */
    readonly newPlan?: string;
    /** On creation from a private offer: one of these two is set, the other is empty. */
    readonly newOfferDuration?: string;
    readonly newOfferEndTime?: string;
    /** On ENTITLEMENT_OFFER_ACCEPTED. */
    readonly newOfferStartTime?: string;
  };
}

export type MarketplaceMessage = AccountMessage | EntitlementMessage;
