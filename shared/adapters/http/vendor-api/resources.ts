import type { UsageHourView } from '../../../app/ingest-usage';
import type {
  Account,
  DeliveryAttempt,
  Entitlement,
  Offer,
  OutboxMessage,
} from '../../../domain/model';
import { vendorEventEnvelope, vendorIdOf } from '../../../domain/vendor-events';
import type { VendorEventEnvelope } from '../../../domain/vendor-events';

/**
 * The records as the vendor API shows them: vendor ids (`<cloud>:<marketplace id>`), ISO 8601
 * times, and nothing the vendor's app has no business with: never the raw marketplace snapshot,
 * never a buyer's personal data, never a store version.
 */

const iso = (epochMs: number | null): string | null =>
  epochMs === null ? null : new Date(epochMs).toISOString();

export interface OfferResource {
  readonly id: string;
  readonly startAt: string | null;
  readonly endAt: string | null;
  readonly duration: string | null;
}

const offerResource = (offer: Offer | null): OfferResource | null =>
  offer === null
    ? null
    : {
        id: offer.id,
        startAt: iso(offer.startEpochMs),
        endAt: iso(offer.endEpochMs),
        duration: offer.duration,
      };

export const entitlementResource = (entitlement: Entitlement) => ({
  id: vendorIdOf(entitlement),
  cloud: entitlement.cloud,
  marketplaceId: entitlement.id,
  accountId: vendorIdOf({ cloud: entitlement.cloud, id: entitlement.accountId }),
  tenantId: entitlement.tenantId,
  productId: entitlement.productId,
  status: entitlement.status,
  plan: entitlement.plan,
  pendingPlan: entitlement.pendingPlan,
  offer: offerResource(entitlement.offer),
  freeTrial: entitlement.freeTrial,
  contract: entitlement.contract.map((quantity) => ({
    dimension: quantity.dimension,
    value: quantity.value,
    expiresAt: iso(quantity.expiresAtEpochMs),
  })),
  createdAt: iso(entitlement.createdAtEpochMs),
  updatedAt: iso(entitlement.updatedAtEpochMs),
});

export const accountResource = (account: Account) => ({
  id: vendorIdOf(account),
  cloud: account.cloud,
  marketplaceId: account.id,
  status: account.status,
  tenantId: account.tenant?.tenantId ?? null,
  linkedAt: iso(account.tenant?.linkedAtEpochMs ?? null),
  signedUpAt: iso(account.signedUpAtEpochMs),
});

/** An event of the log: what the webhook carries, and how its delivery stands. */
export interface EventResource extends VendorEventEnvelope {
  readonly delivery: {
    readonly status: OutboxMessage['status'];
    readonly attempts: number;
    readonly deliveredTo: readonly string[];
    readonly lastError: string | null;
    /** When it is tried next; null once delivered or given up. */
    readonly nextAttemptAt: string | null;
  };
}

export const eventResource = (message: OutboxMessage): EventResource => ({
  ...vendorEventEnvelope(message),
  delivery: {
    status: message.status,
    attempts: message.attempts,
    deliveredTo: message.deliveredTo,
    lastError: message.lastError,
    nextAttemptAt: message.status === 'pending' ? iso(message.nextAttemptAtEpochMs) : null,
  },
});

export const deliveryResource = (attempt: DeliveryAttempt) => ({
  endpointId: attempt.endpointId,
  attempt: attempt.attempt,
  at: iso(attempt.atEpochMs),
  statusCode: attempt.statusCode,
  latencyMs: attempt.latencyMs,
  outcome: attempt.outcome,
  error: attempt.error,
});

export const usageHourResource = (hour: UsageHourView) => ({
  entitlementId: hour.entitlementId,
  dimension: hour.dimension,
  hourStart: iso(hour.hourStartEpochMs),
  quantity: hour.quantity,
  allocations: hour.allocations.map((allocation) => ({
    tags: allocation.tags,
    quantity: allocation.quantity,
  })),
  state: hour.state,
  sealedAt: iso(hour.sealedAtEpochMs),
  answer:
    hour.answer === null
      ? null
      : {
          status: hour.answer.status,
          meteringRecordId: hour.answer.meteringRecordId,
          reason: hour.answer.reason,
          at: iso(hour.answer.atEpochMs),
        },
  updatedAt: iso(hour.updatedAtEpochMs),
});
