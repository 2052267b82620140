import { MARKETPLACE_SNS_ACCOUNT } from './aws-options';
import type { License, Product } from './model';

/**
 * What AWS Marketplace tells the seller, before it travels: SNS notifications on the product's
 * subscription and entitlement topics (legacy), or EventBridge events from
 * `aws.agreement-marketplace` (current). Shapes follow the seller guide's examples; the
 * simulator wraps them for SQS in `aws-simulator.ts`.
 */

export type SubscriptionAction =
  'subscribe-success' | 'subscribe-fail' | 'unsubscribe-pending' | 'unsubscribe-success';
export type SnsAction = SubscriptionAction | 'entitlement-updated';

export type AgreementEventType =
  'Purchase Agreement Created' | 'Purchase Agreement Amended' | 'Purchase Agreement Ended';
export type LicenseEventType = 'License Updated' | 'License Deprovisioned';

export interface SnsNotification {
  readonly kind: 'sns';
  readonly topicArn: string;
  readonly action: SnsAction;
  /** The JSON SNS carries as a string in `Message`; every value is a string. */
  readonly message: Readonly<Record<string, string>>;
  /** Raw message delivery: the SQS body is the message itself, no envelope, no signature. */
  readonly raw: boolean;
}

export interface EventBridgeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: 'aws.agreement-marketplace';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface EventBridgeNotification {
  readonly kind: 'eventbridge';
  readonly event: EventBridgeEvent;
}

export type Notification = SnsNotification | EventBridgeNotification;

/** The eventType a notification is logged under: the SNS action or the detail-type. */
export const notificationType = (notification: Notification): string =>
  notification.kind === 'sns' ? notification.action : notification.event['detail-type'];

export const snsTopicArn = (
  topic: 'subscription' | 'entitlement',
  productCode: string,
  region = 'us-east-1',
): string =>
  `arn:aws:sns:${region}:${MARKETPLACE_SNS_ACCOUNT}:aws-mp-${topic}-notification-${productCode}`;

export const agreementArn = (agreementId: string): string =>
  `arn:aws:aws-marketplace::aws:agreement:${agreementId}`;

/** `2024-08-30T21:36:03Z`: EventBridge prints whole seconds. */
export const eventTime = (epochMs: number): string =>
  new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface SnsContext {
  readonly region: string;
}

/** A message on `aws-mp-subscription-notification-<code>`. */
export const subscriptionNotification = (
  license: License,
  action: SubscriptionAction,
  context: SnsContext,
): SnsNotification => ({
  kind: 'sns',
  topicArn: snsTopicArn('subscription', license.productCode, context.region),
  action,
  message: {
    action,
    'customer-identifier': license.customerIdentifier ?? '',
    'product-code': license.productCode,
    // Only the subscribe outcomes name the offer (seller guide, SaaS notifications).
    ...(action === 'subscribe-success' || action === 'subscribe-fail'
      ? { 'offer-identifier': license.offerId }
      : {}),
    isFreeTrialTermPresent: String(license.freeTrial),
  },
  raw: license.style === 'sns-raw',
});

/** `entitlement-updated` on `aws-mp-entitlement-notification-<code>`: no detail, re-read. */
export const entitlementNotification = (
  license: License,
  context: SnsContext,
): SnsNotification => ({
  kind: 'sns',
  topicArn: snsTopicArn('entitlement', license.productCode, context.region),
  action: 'entitlement-updated',
  message: {
    action: 'entitlement-updated',
    'customer-identifier': license.customerIdentifier ?? '',
    'product-code': license.productCode,
  },
  raw: license.style === 'sns-raw',
});

export interface EventContext {
  readonly id: string;
  readonly requestId: string;
  readonly nowMs: number;
  readonly sellerAccountId: string;
  readonly region: string;
  /** The license ARN as written in events (AWS's example drops the `arn:` prefix). */
  readonly licenseArn: (arn: string) => string;
}

const envelope = (
  detailType: string,
  license: License,
  detail: Record<string, unknown>,
  context: EventContext,
): EventBridgeNotification => ({
  kind: 'eventbridge',
  event: {
    version: '0',
    id: context.id,
    'detail-type': detailType,
    source: 'aws.agreement-marketplace',
    account: context.sellerAccountId,
    time: eventTime(context.nowMs),
    region: context.region,
    resources: [agreementArn(license.agreementId)],
    detail: { requestId: context.requestId, catalog: 'AWSMarketplace', ...detail },
  },
});

/**
 * A purchase agreement event. A direct offer's seller is its proposer and receives the
 * `- Proposer` variant; for a channel partner's offer (CPPO) the seller is only the
 * manufacturer. Agreement events carry no license ARN.
 */
export const agreementEvent = (
  type: AgreementEventType,
  license: License,
  product: Product,
  context: EventContext,
): EventBridgeNotification => {
  const role = license.cppo ? 'Manufacturer' : 'Proposer';
  const term = {
    acceptanceTime: eventTime(license.subscribedAtMs ?? license.createdAtMs),
    startTime: eventTime(license.subscribedAtMs ?? license.createdAtMs),
    endTime: eventTime(license.contractExpiresAtMs),
  };
  const agreement =
    type === 'Purchase Agreement Ended'
      ? { id: license.agreementId, status: 'CANCELLED' }
      : {
          id: license.agreementId,
          intent: type === 'Purchase Agreement Created' ? 'NEW' : 'AMEND',
          status: 'ACTIVE',
          ...term,
        };
  return envelope(
    `${type} - ${role}`,
    license,
    {
      agreement,
      ...(type === 'Purchase Agreement Amended' ? { product: { id: product.id } } : {}),
      ...(license.cppo
        ? { resaleAuthorization: { id: `resaleauthz-${license.offerId.slice(6)}` } }
        : {}),
      acceptor: { accountId: license.customerAWSAccountId },
      proposer: { accountId: license.proposerAccountId },
      offer: { id: license.offerId },
    },
    context,
  );
};

/** `License Updated - Manufacturer` / `License Deprovisioned - Manufacturer`. */
export const licenseEvent = (
  type: LicenseEventType,
  license: License,
  product: Product,
  context: EventContext,
): EventBridgeNotification =>
  envelope(
    `${type} - Manufacturer`,
    license,
    {
      agreement: { id: license.agreementId },
      product: { code: product.code, id: product.id },
      license: { arn: context.licenseArn(license.arn) },
      acceptor: { accountId: license.customerAWSAccountId },
      proposer: { accountId: license.proposerAccountId },
      offer: { id: license.offerId },
    },
    context,
  );
