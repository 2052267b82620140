import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/decision';
import type {
  Account,
  DeliveryAttempt,
  Entitlement,
  EventRecord,
  OutboxMessage,
} from '../domain/model';

/** A fixed instant for tests: 2026-11-22T10:15:00Z. */
export const T0 = Date.UTC(2026, 10, 22, 10, 15);

export const anAccount = (overrides: Partial<Account> = {}): Account => ({
  cloud: 'gcp',
  id: `acct-${randomUUID()}`,
  status: 'pending_signup',
  tenant: null,
  signedUpAtEpochMs: null,
  personal: null,
  snapshot: { updateTimeEpochMs: T0, data: { state: 'ACCOUNT_ACTIVE' } },
  version: 0,
  createdAtEpochMs: T0,
  updatedAtEpochMs: T0,
  ...overrides,
});

export const anEntitlement = (overrides: Partial<Entitlement> = {}): Entitlement => ({
  cloud: 'gcp',
  id: `ent-${randomUUID()}`,
  accountId: 'acct-1',
  productId: 'example-product',
  status: 'active',
  plan: 'pro',
  pendingPlan: null,
  offer: null,
  pendingOffer: null,
  freeTrial: false,
  contract: [],
  usageReportingId: null,
  tenantId: null,
  snapshot: { updateTimeEpochMs: T0, data: { state: 'ENTITLEMENT_ACTIVE' } },
  endedAtEpochMs: null,
  purgedAtEpochMs: null,
  version: 0,
  createdAtEpochMs: T0,
  updatedAtEpochMs: T0,
  ...overrides,
});

export const anEventRecord = (overrides: Partial<EventRecord> = {}): EventRecord => ({
  cloud: 'gcp',
  eventId: `evt-${randomUUID()}`,
  type: 'ENTITLEMENT_ACTIVE',
  accountId: null,
  entitlementId: null,
  outcome: 'applied',
  reason: null,
  payload: { eventType: 'ENTITLEMENT_ACTIVE' },
  receivedAtEpochMs: T0,
  expiresAtEpochSeconds: Math.floor(T0 / 1000) + 86_400,
  ...overrides,
});

export const anOutboxMessage = (overrides: Partial<OutboxMessage> = {}): OutboxMessage => ({
  id: `out-${randomUUID()}`,
  type: 'entitlement.activated',
  version: 1,
  cloud: 'gcp',
  accountId: 'acct-1',
  entitlementId: 'ent-1',
  tenantId: null,
  occurredAtEpochMs: T0,
  data: { status: 'active' },
  attempts: 0,
  nextAttemptAtEpochMs: T0,
  lastError: null,
  status: 'pending',
  deliveredTo: [],
  claimId: null,
  replayedAtEpochMs: null,
  ...overrides,
});

/** One successful try of a message at one endpoint. */
export const aDeliveryAttempt = (overrides: Partial<DeliveryAttempt> = {}): DeliveryAttempt => ({
  messageId: `out-${randomUUID()}`,
  endpointId: 'endpoint-1',
  attempt: 1,
  atEpochMs: T0,
  statusCode: 200,
  latencyMs: 42,
  outcome: 'delivered',
  error: null,
  expiresAtEpochSeconds: Math.floor(T0 / 1000) + 30 * 86_400,
  ...overrides,
});

/** A decision that records an event and writes the given records as new (version 0). */
export const aDecision = (overrides: Partial<Decision> = {}): Decision => ({
  event: anEventRecord(),
  account: null,
  entitlement: null,
  outbox: [],
  ...overrides,
});
