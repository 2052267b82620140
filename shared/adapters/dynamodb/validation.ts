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
import { CLOUDS, ENTITLEMENT_STATUSES } from '../../domain/model';
import type {
  Account,
  Cloud,
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
import type { EntitlementQuery, PageRequest, UsageIngest } from '../../ports/store';

/** DynamoDB refuses a transaction of more than 100 items. */
export const MAX_TRANSACTION_ITEMS = 100;
/** A decision also writes the event, the account and the entitlement in its transaction. */
export const MAX_DECISION_OUTBOX = MAX_TRANSACTION_ITEMS - 3;
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

const validateOutboxMessage = (message: OutboxMessage, path: string): void => {
  assertKey(message.id, `${path}.id`);
  assertEpochMs(message.nextAttemptAtEpochMs, `${path}.nextAttemptAtEpochMs`);
  assertInteger(message.attempts, `${path}.attempts`, 0, Number.MAX_SAFE_INTEGER - 1);
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

export const validateOutboxClaim = (claim: {
  nowEpochMs: number;
  limit: number;
  leaseMs: number;
}): void => {
  assertEpochMs(claim.nowEpochMs, 'nowEpochMs');
  assertInteger(claim.limit, 'limit', 1, MAX_PAGE_LIMIT);
  assertInteger(claim.leaseMs, 'leaseMs', 0, MAX_EPOCH_MS - claim.nowEpochMs);
};

export const validateOutboxRetry = (id: string, atEpochMs: number, lastError: string): void => {
  assertKey(id, 'id');
  assertEpochMs(atEpochMs, 'atEpochMs');
  if (typeof lastError !== 'string') {
    throw new ValidationError('lastError must be a string', { path: 'lastError' });
  }
  assertItemSize(lastError, 'lastError');
};
