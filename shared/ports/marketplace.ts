import type { MarketplaceEventCommand, Observation, ObservedEntitlement } from '../domain/decision';

/**
 * Re-reads the marketplace for the resources a message names: the rule is never to trust the
 * message. Implemented per cloud (Procurement API GET; GetEntitlements).
 */
export interface MarketplaceObserver {
  /**
   * @returns what the marketplace says now; a resource it answers 404 for is `GONE`, and a
   * resource left out was not asked about.
   * @throws MarketplaceApiError, retryable when the marketplace throttled or failed.
   */
  observe(command: MarketplaceEventCommand): Promise<Observation>;
}

/**
 * The answers a marketplace waits for from the vendor (Google's Procurement API). Every
 * method throws `MarketplaceApiError`: `code` `FAILED_PRECONDITION` when the resource is no
 * longer in the state the call needs (re-read and reconcile), `NOT_FOUND` when it is gone.
 */
export interface MarketplaceApprovals {
  /** Records that the buyer completed the vendor's signup (Google: approval `signup`). */
  approveSignup(accountId: string): Promise<void>;
  /** The account's purchases waiting for the vendor's approval, all pages. */
  listAwaitingApproval(
    accountId: string,
  ): Promise<Array<{ readonly id: string; readonly observed: ObservedEntitlement }>>;
  approveEntitlement(entitlementId: string): Promise<void>;
  rejectEntitlement(entitlementId: string, reason: string): Promise<void>;
  approvePlanChange(entitlementId: string, plan: string): Promise<void>;
  rejectPlanChange(entitlementId: string, plan: string, reason: string): Promise<void>;
  /** Shows the buyer a message on the purchase while it waits (Google: `messageToUser`). */
  askBuyerToSignUp(entitlementId: string, message: string): Promise<void>;
}

/** Who bought, as AWS Marketplace names the buyer behind a registration token. */
export interface ResolvedBuyer {
  readonly productCode: string;
  /** Legacy listings only. */
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  /** New listings (Concurrent Agreements): the purchase itself; starts with `arn:`. */
  readonly licenseArn?: string;
}

/** Turns the token the buyer's browser posted into the buyer (AWS: ResolveCustomer). */
export interface BuyerResolver {
  /**
   * @throws UnauthorizedError when the token is invalid or expired: the buyer must start
   * again from the marketplace.
   * @throws MarketplaceApiError, retryable when the marketplace throttled or failed.
   */
  resolve(registrationToken: string): Promise<ResolvedBuyer>;
}
