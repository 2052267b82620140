/**
 * The cloud-neutral model: what we keep of every marketplace account and purchase, the audit
 * of inbound messages, the outbox of changes the vendor must hear of, and the usage ledger.
 * Plain data only; times are epoch milliseconds and say so in their names.
 */

export const Cloud = { gcp: 'gcp', aws: 'aws' } as const;
export type Cloud = (typeof Cloud)[keyof typeof Cloud];
export const CLOUDS = Object.values(Cloud);

/** The raw marketplace resource a record was derived from, and when the marketplace changed it. */
export interface MarketplaceSnapshot {
  readonly updateTimeEpochMs: number;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface AccountRef {
  readonly cloud: Cloud;
  /** GCP procurement account id; AWS CustomerAWSAccountId (legacy: CustomerIdentifier). */
  readonly id: string;
}

export interface EntitlementRef {
  readonly cloud: Cloud;
  /** GCP entitlement id; AWS LicenseArn (legacy: `CustomerIdentifier:ProductCode`). */
  readonly id: string;
}

/** The vendor's own tenant a marketplace account belongs to, set once the buyer signed up. */
export interface TenantLink {
  readonly tenantId: string;
  readonly linkedAtEpochMs: number;
}

export const AccountStatus = {
  pendingSignup: 'pending_signup',
  active: 'active',
  deleted: 'deleted',
} as const;
export type AccountStatus = (typeof AccountStatus)[keyof typeof AccountStatus];

/** What identifies a person. Kept apart so that a purge can drop it and keep the rest. */
export interface PersonalData {
  readonly userIdentity?: string;
  readonly email?: string;
  readonly name?: string;
}

export interface Account extends AccountRef {
  readonly status: AccountStatus;
  readonly tenant: TenantLink | null;
  readonly signedUpAtEpochMs: number | null;
  readonly personal: PersonalData | null;
  readonly snapshot: MarketplaceSnapshot | null;
  /** Optimistic-concurrency version: 1 after the first write, +1 on every write. */
  readonly version: number;
  readonly createdAtEpochMs: number;
  readonly updatedAtEpochMs: number;
}

export const EntitlementStatus = {
  pendingApproval: 'pending_approval',
  active: 'active',
  pendingPlanChange: 'pending_plan_change',
  pendingCancellation: 'pending_cancellation',
  suspended: 'suspended',
  cancelled: 'cancelled',
  deleted: 'deleted',
} as const;
export type EntitlementStatus = (typeof EntitlementStatus)[keyof typeof EntitlementStatus];
export const ENTITLEMENT_STATUSES = Object.values(EntitlementStatus);

export interface Offer {
  readonly id: string;
  readonly startEpochMs: number | null;
  readonly endEpochMs: number | null;
  /** ISO 8601 duration such as `P1Y`, when the marketplace gives one instead of an end time. */
  readonly duration: string | null;
}

/** One purchased contract dimension (AWS GetEntitlements `Value`). */
export interface ContractQuantity {
  readonly dimension: string;
  readonly value: number | boolean | string;
  readonly expiresAtEpochMs: number | null;
}

export interface Entitlement extends EntitlementRef {
  readonly accountId: string;
  readonly productId: string;
  readonly status: EntitlementStatus;
  readonly plan: string | null;
  readonly pendingPlan: string | null;
  readonly offer: Offer | null;
  readonly pendingOffer: Offer | null;
  readonly freeTrial: boolean;
  readonly contract: readonly ContractQuantity[];
  /** GCP Service Control consumer id; present only for usage-billed products. */
  readonly usageReportingId: string | null;
  readonly tenantId: string | null;
  readonly snapshot: MarketplaceSnapshot | null;
  /**
   * When the purchase was first recorded as ended (cancelled or deleted), `null` while it is
   * live: the retention of its personal data and the last usage it may bill count from here,
   * whatever writes follow (a relink, a refreshed snapshot).
   */
  readonly endedAtEpochMs: number | null;
  /**
   * When its personal data was first purged (its retention ran out, or its account was
   * deleted), `null` while it keeps it: what later messages say is recorded without it.
   */
  readonly purgedAtEpochMs: number | null;
  readonly version: number;
  readonly createdAtEpochMs: number;
  readonly updatedAtEpochMs: number;
}

export const EventOutcome = {
  applied: 'applied',
  stale: 'stale',
  ignored: 'ignored',
  deadLetter: 'dead_letter',
} as const;
export type EventOutcome = (typeof EventOutcome)[keyof typeof EventOutcome];

/** Every inbound message, raw: the dedupe record and the audit. Keyed by (cloud, eventId). */
export interface EventRecord {
  readonly cloud: Cloud;
  readonly eventId: string;
  readonly type: string;
  readonly accountId: string | null;
  readonly entitlementId: string | null;
  readonly outcome: EventOutcome;
  readonly reason: string | null;
  readonly payload: unknown;
  readonly receivedAtEpochMs: number;
  /** When the storage engine may drop the record (DynamoDB TTL, Firestore TTL policy). */
  readonly expiresAtEpochSeconds: number;
}

export const OutboxStatus = {
  /** Not yet delivered to every endpoint; it is on the due list. */
  pending: 'pending',
  delivered: 'delivered',
  /** Still undelivered when the retry horizon passed; kept, and replayable. */
  failed: 'failed',
} as const;
export type OutboxStatus = (typeof OutboxStatus)[keyof typeof OutboxStatus];

/** A change the vendor must hear of, written in the same atomic write as the change. */
export interface OutboxMessage {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly cloud: Cloud;
  readonly accountId: string | null;
  readonly entitlementId: string | null;
  readonly tenantId: string | null;
  readonly occurredAtEpochMs: number;
  readonly data: Readonly<Record<string, unknown>>;
  readonly attempts: number;
  /** Not delivered before this time; a claim pushes it forward by the lease. */
  readonly nextAttemptAtEpochMs: number;
  readonly lastError: string | null;
  readonly status: OutboxStatus;
  /** The endpoints (ids) that took the message; a retry goes to the others only. */
  readonly deliveredTo: readonly string[];
  /**
   * The claim the message is under: a new id at every claim, null until the first and again
   * after a replay or a report. What a claimer reports of its delivery (ack, retry, failure)
   * holds only while the claim it names is still this one.
   */
  readonly claimId: string | null;
  /** When it was last replayed, null until then: its retry horizon counts from then. */
  readonly replayedAtEpochMs: number | null;
}

/**
 * What delivery keeps in order: each endpoint receives the messages of one key in the order
 * they occurred. The entitlement when there is one, else the account, else the message alone.
 */
export const outboxOrderingKey = (
  message: Pick<OutboxMessage, 'cloud' | 'entitlementId' | 'accountId' | 'id'>,
): string =>
  message.entitlementId !== null
    ? `${message.cloud}:entitlement:${message.entitlementId}`
    : message.accountId !== null
      ? `${message.cloud}:account:${message.accountId}`
      : `message:${message.id}`;

/** One try at handing one outbox message to one webhook endpoint: the delivery log. */
export interface DeliveryAttempt {
  readonly messageId: string;
  readonly endpointId: string;
  /** The message's attempt number this try belongs to (1 for the first claim). */
  readonly attempt: number;
  readonly atEpochMs: number;
  /** The endpoint's HTTP status; `null` when it gave none (timeout, refused connection). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly outcome: 'delivered' | 'failed';
  /** Why it failed, for people: never a response body. */
  readonly error: string | null;
  /** When the storage engine may drop the entry (TTL). */
  readonly expiresAtEpochSeconds: number;
}

export const UsageHourState = {
  open: 'open',
  sealed: 'sealed',
  sent: 'sent',
  rejected: 'rejected',
} as const;
export type UsageHourState = (typeof UsageHourState)[keyof typeof UsageHourState];

export interface UsageHourKey {
  readonly cloud: Cloud;
  readonly entitlementId: string;
  readonly dimension: string;
  /** UTC hour start; the hour is billed with this timestamp. */
  readonly hourStartEpochMs: number;
}

/** The marketplace's answer for one hour. */
export interface UsageAnswer {
  readonly status: string;
  readonly meteringRecordId: string | null;
  readonly reason: string | null;
  readonly atEpochMs: number;
}

/** The tags of one usage allocation. A map, so that a key appears once, as AWS requires. */
export type UsageTags = Readonly<Record<string, string>>;

/** One share of an hour's quantity; `{}` tags: the share of the records that had no tags. */
export interface UsageAllocation {
  readonly tags: UsageTags;
  readonly quantity: number;
}

/** One row of the usage ledger: `open` takes adds, `sealed` is frozen for sending. */
export interface UsageHour extends UsageHourKey {
  /** The hour's total, tagged or not. */
  readonly quantity: number;
  /**
   * The total per tag set, summing to `quantity`, in a stable order (see `allocationsOf`);
   * empty when no record of the hour had tags.
   */
  readonly allocations: readonly UsageAllocation[];
  readonly state: UsageHourState;
  readonly sealedAtEpochMs: number | null;
  readonly answer: UsageAnswer | null;
  readonly updatedAtEpochMs: number;
}

export const entitlementRefOf = (e: EntitlementRef): EntitlementRef => ({
  cloud: e.cloud,
  id: e.id,
});
export const accountRefOf = (a: AccountRef): AccountRef => ({ cloud: a.cloud, id: a.id });
