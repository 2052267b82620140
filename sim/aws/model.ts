/**
 * The simulated AWS Marketplace state: products, and one license per purchase (agreement). A
 * legacy product's buyer is also known by a `CustomerIdentifier` (one per account and product);
 * a new product's buyer only by account id and LicenseArn, and one account may hold several
 * licenses of a product at once (Concurrent Agreements).
 */

/** How the seller hears of a license: SNS topics (wrapped or raw) or EventBridge, all via SQS. */
export const NOTIFICATION_STYLES = ['sns', 'sns-raw', 'eventbridge'] as const;
export type NotificationStyle = (typeof NOTIFICATION_STYLES)[number];

/**
 * - `pending`: the buyer subscribed, the registration token works, no subscribe-success yet;
 * - `active`: subscribed (subscribe-success / License Updated sent);
 * - `unsubscribe-pending`: the buyer cancelled; still metered until it completes;
 * - `unsubscribed`: unsubscribe-success / License Deprovisioned sent; final records are
 *   accepted for the metering grace after `endedAtMs`;
 * - `failed`: subscribe-fail (payment failed); never metered.
 */
export type LicenseStatus =
  'pending' | 'active' | 'unsubscribe-pending' | 'unsubscribed' | 'failed';

/** A contract quantity: an integer, a double, a boolean or a string entitlement value. */
export type ContractValue = number | boolean | string;

export interface Product {
  readonly code: string;
  readonly id: string;
  readonly offerId: string;
  /** Unset: any dimension is accepted. */
  readonly usageDimensions?: ReadonlySet<string>;
  readonly contractDimensions?: ReadonlySet<string>;
}

export interface License {
  readonly arn: string;
  readonly agreementId: string;
  readonly productCode: string;
  readonly customerAWSAccountId: string;
  /** Legacy products only; ResolveCustomer leaves it out for new ones. */
  readonly customerIdentifier?: string;
  readonly legacy: boolean;
  readonly style: NotificationStyle;
  readonly offerId: string;
  readonly freeTrial: boolean;
  /** Sold through a channel partner: the seller receives Manufacturer events only. */
  readonly cppo: boolean;
  /** The proposer of the offer: the seller, or the channel partner of a CPPO. */
  readonly proposerAccountId: string;
  contract: Record<string, ContractValue>;
  contractExpiresAtMs: number;
  status: LicenseStatus;
  readonly createdAtMs: number;
  subscribedAtMs?: number;
  unsubscribeRequestedAtMs?: number;
  /** When the subscription ended (unsubscribe-success, deprovision, subscribe-fail). */
  endedAtMs?: number;
}

/** What ResolveCustomer answers for a token, fixed when the token is minted. */
export interface ResolvedCustomer {
  readonly CustomerIdentifier?: string;
  readonly CustomerAWSAccountId: string;
  readonly LicenseArn?: string;
  readonly ProductCode: string;
}

export interface RegistrationToken {
  readonly token: string;
  readonly licenseArn: string;
  readonly expiresAtMs: number;
  readonly answer: ResolvedCustomer;
}
