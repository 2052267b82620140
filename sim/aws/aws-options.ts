/** How the AWS half of the simulator is set up; every field has a local default. */

/** One SaaS product listed by the seller. */
export interface AwsProductOptions {
  /** The product code (`ProductCode`) the APIs and notifications carry. */
  readonly code: string;
  /** The catalog id (`prod-…`), in EventBridge events. */
  readonly id?: string;
  /** The public offer buyers subscribe through unless they name another (`offer-…`). */
  readonly offerId?: string;
  /** Metered (FCP) dimensions BatchMeterUsage accepts; unset, any dimension is accepted. */
  readonly usageDimensions?: readonly string[];
  /** Contract dimensions a subscription may hold; unset, any dimension is accepted. */
  readonly contractDimensions?: readonly string[];
}

/**
 * - `sync`: a buyer action answers once its messages' first deliveries were answered;
 * - `async`: deliveries run in the background;
 * - `manual`: messages wait in the queue until redelivered one by one (reordering tests).
 */
export type AwsDeliveryMode = 'sync' | 'async' | 'manual';

export interface SqsOptions {
  /** Where SQS events are POSTed (the notifications function); unset, messages wait in the queue. */
  readonly endpoint?: string;
  readonly deliver?: AwsDeliveryMode;
  /** Records per event, at most (Lambda's `BatchSize`). */
  readonly batchSize?: number;
  /** How long a failed message stays invisible before it is received again. */
  readonly visibilityTimeoutMs?: number;
  /** Receives before a message moves to the dead-letter queue (the redrive policy). */
  readonly maxReceiveCount?: number;
  /** An answer slower than this counts as a failed batch (the function's timeout). */
  readonly timeoutMs?: number;
  /** The queue's name, in `eventSourceARN`. */
  readonly queueName?: string;
}

export interface MeteringWindowOptions {
  /** How far in the past a record's `Timestamp` may be. */
  readonly pastMs?: number;
  /** How far in the future a record's `Timestamp` may be. */
  readonly futureMs?: number;
  /**
   * Previous-month records are refused from this long after midnight UTC on the 1st, whatever
   * `pastMs` says (06:00 UTC per the API reference); `null` turns the rule off.
   */
  readonly monthEndGraceMs?: number | null;
}

/**
 * How GetEntitlements pages: real answers can be empty and still carry a `NextToken`.
 * - `leading`: a query with results first answers one empty page with a `NextToken`;
 * - `interleaved`: an empty page before every page of results;
 * - `none`: no empty pages.
 */
export type EmptyPages = 'leading' | 'interleaved' | 'none';

export interface AwsSimulatorOptions {
  readonly products?: readonly AwsProductOptions[];
  /** The seller's (ISV's) account: EventBridge `account`, the queue's owner. */
  readonly sellerAccountId?: string;
  /** The region requests must be signed for (the Entitlement Service lives in us-east-1 only). */
  readonly region?: string;
  readonly sqs?: SqsOptions;
  /** SNS `SignatureVersion`: `1` signs with SHA1, `2` with SHA256. */
  readonly snsSignatureVersion?: '1' | '2';
  /**
   * The license ARN in EventBridge events: `without-prefix` as AWS's documented example
   * (`aws:license-manager:…`), or `with-prefix` as ResolveCustomer answers it (`arn:aws:…`).
   */
  readonly eventLicenseArn?: 'without-prefix' | 'with-prefix';
  /** How long a registration token resolves (4 h per the seller guide). */
  readonly registrationTokenTtlMs?: number;
  /** Requests per second each API operation accepts before ThrottlingException; 0 turns it off. */
  readonly requestsPerSecond?: number;
  readonly meteringWindow?: MeteringWindowOptions;
  /** How long after unsubscribe-success (or a deprovision) final records are still accepted. */
  readonly meteringGraceMs?: number;
  /**
   * How long after unsubscribe-pending the unsubscription completes on its own (real time);
   * `null`: only `POST /_sim/aws/licenses/{arn}/unsubscribe-complete` completes it.
   */
  readonly unsubscribeCompleteAfterMs?: number | null;
  readonly emptyPages?: EmptyPages;
  /** The base of `SigningCertURL` and `UnsubscribeURL` when not the simulator's own URL. */
  readonly publicUrl?: string;
}

const HOUR_MS = 3_600_000;

export const AWS_DEFAULTS = {
  products: [
    {
      code: 'demo0product0code0local01',
      id: 'prod-demolocal0001',
      offerId: 'offer-demolocalpublic1',
      usageDimensions: ['requests', 'users', 'gigabytes'],
    },
  ] satisfies AwsProductOptions[],
  sellerAccountId: '111122223333',
  region: 'us-east-1',
  deliver: 'async',
  batchSize: 10,
  visibilityTimeoutMs: 300,
  maxReceiveCount: 5,
  sqsTimeoutMs: 30_000,
  queueName: 'marketplace-notifications',
  snsSignatureVersion: '1',
  eventLicenseArn: 'without-prefix',
  registrationTokenTtlMs: 4 * HOUR_MS,
  requestsPerSecond: 10,
  pastMs: 24 * HOUR_MS,
  futureMs: 24 * HOUR_MS,
  monthEndGraceMs: 6 * HOUR_MS,
  meteringGraceMs: HOUR_MS,
  unsubscribeCompleteAfterMs: HOUR_MS,
  emptyPages: 'leading',
} as const;

/** The AWS Marketplace account that owns the SNS topics (the sample's default). */
export const MARKETPLACE_SNS_ACCOUNT = '287250355862';
/** The account License Manager issues Marketplace licenses from. */
export const LICENSE_ISSUER_ACCOUNT = '294406891311';
