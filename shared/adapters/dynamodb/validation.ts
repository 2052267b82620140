/**
 * Checks run before any request reaches DynamoDB, so a bad input is a `ValidationError` with
 * a path rather than an engine error (or, worse, a key that silently means something else).
 */
import { ValidationError } from '../../domain/errors';
import {
  assertInteger,
  assertItemSize,
  assertKey,
  byteLength,
  MAX_PAGE_LIMIT,
  MAX_USAGE_QUANTITY,
} from '../../domain/limits';
import { CLOUDS, ENTITLEMENT_STATUSES, OutboxStatus } from '../../domain/model';
import type {
  Account,
  Cloud,
  DeliveryAttempt,
  Entitlement,
  EntitlementStatus,
  EventRecord,
  OutboxMessage,
  UsageAnswer,
  UsageHourKey,
} from '../../domain/model';
import type { Decision } from '../../domain/decision';
import { isHourStart } from '../../domain/time';
import { assertTags } from '../../domain/usage-allocations';
import type {
  EntitlementQuery,
  OutboxClaim,
  OutboxLease,
  OutboxQuery,
  PageRequest,
  UsageHourQuery,
  UsageIngest,
} from '../../ports/store';

/** DynamoDB refuses a transaction of more than 100 items. */
export const MAX_TRANSACTION_ITEMS = 100;
/**
 * A decision also writes the event, the account and the entitlement in its transaction, and
 * each outbox message comes with its ordering marker.
 */
export const MAX_DECISION_OUTBOX = Math.floor((MAX_TRANSACTION_ITEMS - 3) / 2);
/**
 * DynamoDB refuses a transaction whose items add up to more than 4 MB. Items are measured as
 * JSON, which is close to but not exactly DynamoDB's own size, and keys and index attributes
 * come on top, hence the headroom.
 */
const MAX_TRANSACTION_BYTES = 3.5 * 1024 * 1024;
/** The latest instant JavaScript dates represent; keeps `now + lease` a safe integer. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;
/** The last hour whose ISO form has four-digit years, the fixed width sort keys rely on. */
export const MAX_HOUR_START_EPOCH_MS = Date.UTC(9999, 11, 31, 23);

export const assertCloud = (value: unknown, path: string): Cloud => {
  if (!CLOUDS.includes(value as Cloud)) {
    throw new ValidationError(`${path} must be one of ${CLOUDS.join(', ')}`, { path });
  }
  return value as Cloud;
};

const assertStatus = (value: unknown, path: string): EntitlementStatus => {
  if (!ENTITLEMENT_STATUSES.includes(value as EntitlementStatus)) {
    throw new ValidationError(`${path} must be an entitlement status`, { path });
  }
  return value as EntitlementStatus;
};

export const assertEpochMs = (value: unknown, path: string): number =>
  assertInteger(value, path, 0, MAX_EPOCH_MS);

export const assertRef = (ref: { cloud: unknown; id: unknown }, path: string): void => {
  assertCloud(ref.cloud, `${path}.cloud`);
  assertKey(ref.id, `${path}.id`);
};

export const assertExpectedVersion = (value: unknown): number =>
  assertInteger(value, 'expectedVersion', 0, Number.MAX_SAFE_INTEGER - 1);

export const validateAccount = (account: Account, path = 'account'): void => {
  assertRef(account, path);
  assertItemSize(account, path);
};

export const validateEntitlement = (entitlement: Entitlement, path = 'entitlement'): void => {
  assertRef(entitlement, path);
  // These three end up in index keys.
  assertKey(entitlement.accountId, `${path}.accountId`);
  assertStatus(entitlement.status, `${path}.status`);
  if (entitlement.tenantId !== null) assertKey(entitlement.tenantId, `${path}.tenantId`);
  assertItemSize(entitlement, path);
};

export const validateEventKey = (cloud: unknown, eventId: unknown, path = 'event'): void => {
  assertCloud(cloud, `${path}.cloud`);
  assertKey(eventId, `${path}.eventId`);
};

const validateEvent = (event: EventRecord, path = 'event'): void => {
  validateEventKey(event.cloud, event.eventId, path);
  assertInteger(
    event.expiresAtEpochSeconds,
    `${path}.expiresAtEpochSeconds`,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  assertItemSize(event, path);
};

const OUTBOX_STATUSES: readonly string[] = Object.values(OutboxStatus);

/** Endpoint ids: each a key, together small enough to fit the message's item. */
export const validateDeliveredTo = (value: unknown, path: string): readonly string[] => {
  if (!Array.isArray(value)) {
    throw new ValidationError(`${path} must be a list of endpoint ids`, { path });
  }
  value.forEach((id, index) => assertKey(id, `${path}[${index}]`));
  assertItemSize(value, path);
  return value as readonly string[];
};

const validateOutboxMessage = (message: OutboxMessage, path: string): void => {
  assertKey(message.id, `${path}.id`);
  // These, with the id, end up in the ordering and time index keys.
  assertCloud(message.cloud, `${path}.cloud`);
  if (message.accountId !== null) assertKey(message.accountId, `${path}.accountId`);
  if (message.entitlementId !== null) assertKey(message.entitlementId, `${path}.entitlementId`);
  assertEpochMs(message.occurredAtEpochMs, `${path}.occurredAtEpochMs`);
  assertEpochMs(message.nextAttemptAtEpochMs, `${path}.nextAttemptAtEpochMs`);
  assertInteger(message.attempts, `${path}.attempts`, 0, Number.MAX_SAFE_INTEGER - 1);
  if (!OUTBOX_STATUSES.includes(message.status)) {
    throw new ValidationError(`${path}.status must be one of ${OUTBOX_STATUSES.join(', ')}`, {
      path: `${path}.status`,
    });
  }
  validateDeliveredTo(message.deliveredTo, `${path}.deliveredTo`);
  assertClaimId(message.claimId, `${path}.claimId`);
  if (message.replayedAtEpochMs !== null) {
    assertEpochMs(message.replayedAtEpochMs, `${path}.replayedAtEpochMs`);
  }
  assertItemSize(message, path);
};

export const validateDecision = (decision: Decision): void => {
  validateEvent(decision.event);
  if (decision.account) {
    validateAccount(decision.account.next, 'account.next');
    assertExpectedVersion(decision.account.expectedVersion);
  }
  if (decision.entitlement) {
    validateEntitlement(decision.entitlement.next, 'entitlement.next');
    assertExpectedVersion(decision.entitlement.expectedVersion);
  }
  if (decision.outbox.length > MAX_DECISION_OUTBOX) {
    throw new ValidationError(
      `a decision writes at most ${MAX_DECISION_OUTBOX} outbox messages, not ${decision.outbox.length}`,
      { path: 'outbox' },
    );
  }
  const ids = new Set<string>();
  decision.outbox.forEach((message, index) => {
    validateOutboxMessage(message, `outbox[${index}]`);
    // One transaction may not touch an item twice.
    if (ids.has(message.id)) {
      throw new ValidationError(`outbox id ${message.id} appears twice`, {
        path: `outbox[${index}].id`,
      });
    }
    ids.add(message.id);
  });
  const bytes = byteLength(JSON.stringify(decision));
  if (bytes > MAX_TRANSACTION_BYTES) {
    throw new ValidationError(`the decision is ${bytes} bytes, more than one write can hold`, {
      path: 'decision',
    });
  }
};

export const validateUsageKey = (key: UsageHourKey): void => {
  assertCloud(key.cloud, 'cloud');
  assertKey(key.entitlementId, 'entitlementId');
  assertKey(key.dimension, 'dimension');
  assertInteger(key.hourStartEpochMs, 'hourStartEpochMs', 0, MAX_HOUR_START_EPOCH_MS);
  if (!isHourStart(key.hourStartEpochMs)) {
    throw new ValidationError('hourStartEpochMs must be the start of a UTC hour', {
      path: 'hourStartEpochMs',
    });
  }
};

export const validateUsageIngest = (ingest: UsageIngest): void => {
  validateUsageKey(ingest);
  assertInteger(
    ingest.dedupeExpiresAtEpochSeconds,
    'dedupeExpiresAtEpochSeconds',
    0,
    Number.MAX_SAFE_INTEGER,
  );
  assertEpochMs(ingest.nowEpochMs, 'nowEpochMs');
  if (!Array.isArray(ingest.records) || ingest.records.length === 0) {
    throw new ValidationError('records must hold at least one usage record', { path: 'records' });
  }
  ingest.records.forEach((record, index) => {
    assertKey(record.usageId, `records[${index}].usageId`);
    assertInteger(record.quantity, `records[${index}].quantity`, 0, MAX_USAGE_QUANTITY);
    if (record.tags !== undefined) assertTags(record.tags, `records[${index}].tags`);
  });
};

export const validateAnswer = (state: unknown, answer: UsageAnswer): void => {
  if (state !== 'sent' && state !== 'rejected') {
    throw new ValidationError('state must be sent or rejected', { path: 'state' });
  }
  assertEpochMs(answer.atEpochMs, 'answer.atEpochMs');
  assertItemSize(answer, 'answer');
};

export const validatePage = (page: PageRequest): void => {
  assertInteger(page.limit, 'page.limit', 1, MAX_PAGE_LIMIT);
  if (page.cursor !== undefined && page.cursor !== null && typeof page.cursor !== 'string') {
    throw new ValidationError('page.cursor must be a string', { path: 'page.cursor' });
  }
};

export const validateEntitlementQuery = (query: EntitlementQuery): void => {
  switch (query.by) {
    case 'account':
      assertCloud(query.cloud, 'query.cloud');
      assertKey(query.accountId, 'query.accountId');
      return;
    case 'tenant':
      assertKey(query.tenantId, 'query.tenantId');
      return;
    case 'status':
      assertStatus(query.status, 'query.status');
      return;
    default:
      throw new ValidationError('query.by must be account, tenant or status', { path: 'query.by' });
  }
};

export const validateOutboxClaim = (claim: OutboxClaim): void => {
  assertEpochMs(claim.nowEpochMs, 'nowEpochMs');
  assertInteger(claim.limit, 'limit', 1, MAX_PAGE_LIMIT);
  assertInteger(claim.leaseMs, 'leaseMs', 0, MAX_EPOCH_MS - claim.nowEpochMs);
  if (claim.ids === undefined) return;
  if (!Array.isArray(claim.ids) || claim.ids.length > MAX_PAGE_LIMIT) {
    throw new ValidationError(`ids must be a list of at most ${MAX_PAGE_LIMIT} message ids`, {
      path: 'ids',
    });
  }
  claim.ids.forEach((id, index) => assertKey(id, `ids[${index}]`));
};

const assertLastError = (lastError: unknown): void => {
  if (typeof lastError !== 'string') {
    throw new ValidationError('lastError must be a string', { path: 'lastError' });
  }
  assertItemSize(lastError, 'lastError');
};

/** A claim id is a key, or null for a message under no claim. */
const assertClaimId = (value: unknown, path: string): void => {
  if (value !== null) assertKey(value, path);
};

export const validateOutboxLease = (lease: OutboxLease): void => {
  assertKey(lease?.id, 'lease.id');
  assertClaimId(lease.claimId, 'lease.claimId');
};

export const validateOutboxRetry = (
  lease: OutboxLease,
  atEpochMs: number,
  lastError: string,
  deliveredTo: readonly string[],
): void => {
  validateOutboxLease(lease);
  assertEpochMs(atEpochMs, 'atEpochMs');
  assertLastError(lastError);
  validateDeliveredTo(deliveredTo, 'deliveredTo');
};

export const validateOutboxDeferral = (
  lease: OutboxLease,
  atEpochMs: number,
  deliveredTo: readonly string[],
): void => {
  validateOutboxLease(lease);
  // Only a claim counted an attempt, so only a claim has one to give back.
  if (lease.claimId === null) {
    throw new ValidationError('lease.claimId must name the claim being deferred', {
      path: 'lease.claimId',
    });
  }
  assertEpochMs(atEpochMs, 'atEpochMs');
  validateDeliveredTo(deliveredTo, 'deliveredTo');
};

export const validateOutboxFailure = (
  lease: OutboxLease,
  lastError: string,
  deliveredTo: readonly string[],
): void => {
  validateOutboxLease(lease);
  assertLastError(lastError);
  validateDeliveredTo(deliveredTo, 'deliveredTo');
};

/**
 * An ordering key as `outboxOrderingKey` makes it: fixed words around one id, which must be a
 * key like any other (it ends up in an index partition value).
 */
const ORDERING_KEY = new RegExp(
  `^(?:(?:${CLOUDS.join('|')}):(?:entitlement|account):|message:)(.*)$`,
  's',
);

export const assertOrderingKey = (value: unknown, path: string): string => {
  const id = typeof value === 'string' ? ORDERING_KEY.exec(value)?.[1] : undefined;
  if (id === undefined) {
    throw new ValidationError(`${path} must be an outbox ordering key`, { path });
  }
  assertKey(id, path);
  return value as string;
};

export const validateOutboxQuery = (query: OutboxQuery): void => {
  switch (query?.by) {
    case 'time':
      assertEpochMs(query.fromEpochMs, 'query.fromEpochMs');
      assertEpochMs(query.toEpochMs, 'query.toEpochMs');
      return;
    case 'ordering':
      assertOrderingKey(query.orderingKey, 'query.orderingKey');
      return;
    default:
      throw new ValidationError('query.by must be time or ordering', { path: 'query.by' });
  }
};

export const validateTenantQuery = (query: { by: 'tenant'; tenantId: string }): void => {
  if (query?.by !== 'tenant') {
    throw new ValidationError('query.by must be tenant', { path: 'query.by' });
  }
  assertKey(query.tenantId, 'query.tenantId');
};

export const validateUsageHourQuery = (query: UsageHourQuery): void => {
  assertCloud(query?.cloud, 'query.cloud');
  assertKey(query.entitlementId, 'query.entitlementId');
  assertEpochMs(query.fromEpochMs, 'query.fromEpochMs');
  assertEpochMs(query.toEpochMs, 'query.toEpochMs');
};

/** HTTP status codes are three digits. */
const MAX_STATUS_CODE = 999;

export const validateDeliveryAttempt = (attempt: DeliveryAttempt): void => {
  assertKey(attempt?.messageId, 'attempt.messageId');
  assertKey(attempt.endpointId, 'attempt.endpointId');
  // Both are padded to 16 digits in the sort key.
  assertInteger(attempt.attempt, 'attempt.attempt', 0, Number.MAX_SAFE_INTEGER);
  assertEpochMs(attempt.atEpochMs, 'attempt.atEpochMs');
  if (attempt.statusCode !== null) {
    assertInteger(attempt.statusCode, 'attempt.statusCode', 0, MAX_STATUS_CODE);
  }
  assertInteger(attempt.latencyMs, 'attempt.latencyMs', 0, Number.MAX_SAFE_INTEGER);
  if (attempt.outcome !== 'delivered' && attempt.outcome !== 'failed') {
    throw new ValidationError('attempt.outcome must be delivered or failed', {
      path: 'attempt.outcome',
    });
  }
  if (attempt.error !== null && typeof attempt.error !== 'string') {
    throw new ValidationError('attempt.error must be a string or null', { path: 'attempt.error' });
  }
  assertInteger(
    attempt.expiresAtEpochSeconds,
    'attempt.expiresAtEpochSeconds',
    0,
    Number.MAX_SAFE_INTEGER,
  );
  assertItemSize(attempt, 'attempt');
};
