import { outboxMessagesFor } from '../domain/decision';
import type { Decision } from '../domain/decision';
import { ConcurrencyConflictError, MarketplaceError, NotFoundError } from '../domain/errors';
import { AccountStatus, EventOutcome } from '../domain/model';
import type { Account, AccountRef } from '../domain/model';
import { toEpochSeconds } from '../domain/time';
import type { AccountLinkEventData } from '../domain/vendor-event-schemas';
import { VendorEventType, vendorIdOf } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';
import { allEntitlements } from './all-entitlements';
import { followAccountTenant, tenantOf } from './link-account-entitlements';

export interface TenantAccountDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** How long the audit record of a link or unlink is kept. */
  readonly eventTtlSeconds: number;
  /** A new unique id for each audit record. */
  readonly newId: () => string;
  /** Attempts when a write keeps losing races; 5 unless given. */
  readonly maxAttempts?: number;
}

export interface TenantAccountInput {
  readonly tenantId: string;
  readonly account: AccountRef;
  /** Who asked, for the audit: the API key id. */
  readonly actor: string;
}

export interface TenantAccountResult {
  /** The account as stored once the job is done. */
  readonly account: Account;
  /** False when the account already was as asked (a repeated call, or one that finishes a job). */
  readonly changed: boolean;
  /** Purchases whose tenant was set in this call. */
  readonly entitlementsUpdated: number;
}

/** Why a link cannot be made: the caller must change something first. */
export class TenantLinkConflictError extends MarketplaceError {
  readonly reason: 'already_linked' | 'account_deleted';

  constructor(reason: 'already_linked' | 'account_deleted', message: string) {
    super(message, { retryable: false });
    this.reason = reason;
  }
}

/** The audit record's type: what an admin did through the vendor API. */
export const TenantLinkAction = {
  link: 'VENDOR_API_ACCOUNT_LINKED',
  unlink: 'VENDOR_API_ACCOUNT_UNLINKED',
} as const;

const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * The one write of a link or unlink: the account, the audit record naming who did it, and the
 * event for the vendor's app. The event's `tenantId` is the tenant the account belongs to
 * afterwards (null once unlinked, as the published schema says) and `data.previousTenantId`
 * the one before.
 */
const tenantDecision = (
  deps: TenantAccountDeps,
  account: Account,
  input: TenantAccountInput,
  action: 'link' | 'unlink',
): Decision => {
  const nowEpochMs = deps.clock.now();
  const previousTenantId = tenantOf(account);
  const tenantId = action === 'link' ? input.tenantId : null;
  const next: Account = {
    ...account,
    tenant: tenantId === null ? null : { tenantId, linkedAtEpochMs: nowEpochMs },
    updatedAtEpochMs: nowEpochMs,
  };
  const command = { cloud: account.cloud, eventId: `vendor-api:${deps.newId()}` };
  const data: AccountLinkEventData = { previousTenantId };
  const type = action === 'link' ? VendorEventType.accountLinked : VendorEventType.accountUnlinked;
  return {
    event: {
      cloud: account.cloud,
      eventId: command.eventId,
      type: TenantLinkAction[action],
      accountId: account.id,
      entitlementId: null,
      outcome: EventOutcome.applied,
      reason: null,
      payload: {
        actor: { keyId: input.actor },
        action,
        tenantId: input.tenantId,
        previousTenantId,
      },
      receivedAtEpochMs: nowEpochMs,
      expiresAtEpochSeconds: toEpochSeconds(nowEpochMs) + deps.eventTtlSeconds,
    },
    account: { next, expectedVersion: account.version },
    entitlement: null,
    outbox: outboxMessagesFor(
      command,
      [type],
      { accountId: account.id, entitlement: null, tenantId },
      nowEpochMs,
    ).map((message) => ({ ...message, data })),
  };
};

/** Brings the account's purchases in line with it, and says what the call did. */
const finish = async (
  deps: TenantAccountDeps,
  account: Account,
  changed: boolean,
): Promise<TenantAccountResult> => {
  const followed = await followAccountTenant(deps, account);
  return { account: followed.account ?? account, changed, entitlementsUpdated: followed.updated };
};

/** Whether a purchase of the account still carries `tenantId`: an unlink that did not finish. */
const anyEntitlementOf = async (
  deps: TenantAccountDeps,
  ref: AccountRef,
  tenantId: string,
): Promise<boolean> => {
  const query = { by: 'account', cloud: ref.cloud, accountId: ref.id } as const;
  for await (const entitlement of allEntitlements(deps.store, query)) {
    if (entitlement.tenantId === tenantId) return true;
  }
  return false;
};

/**
 * Links a marketplace account to the vendor's tenant, on an admin's request:
 * 1. the account must exist, not be deleted, and not belong to another tenant;
 * 2. one atomic write: the account's tenant, the audit record (who: `actor`) and the
 *    `account.linked` event (`data.previousTenantId`);
 * 3. every purchase of the account then gets the tenant, one conditional write each.
 *
 * Idempotent: an account already linked to the tenant is left as it is and its purchases are
 * brought in line, which finishes a call that stopped between steps 2 and 3.
 *
 * @throws NotFoundError when no account has that id.
 * @throws TenantLinkConflictError when the account belongs to another tenant or was deleted.
 * @throws ConcurrencyConflictError (retryable) when every attempt lost its race.
 */
export const linkTenantAccount = async (
  deps: TenantAccountDeps,
  input: TenantAccountInput,
): Promise<TenantAccountResult> => {
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt += 1) {
    const account = await deps.store.getAccount(input.account);
    if (account === null) throw new NotFoundError(`account ${vendorIdOf(input.account)}`);
    const current = tenantOf(account);
    if (current === input.tenantId) {
      return finish(deps, account, false);
    }
    if (account.status === AccountStatus.deleted) {
      throw new TenantLinkConflictError(
        'account_deleted',
        `account ${vendorIdOf(account)} was deleted by the marketplace`,
      );
    }
    if (current !== null) {
      throw new TenantLinkConflictError(
        'already_linked',
        `account ${vendorIdOf(account)} is linked to another tenant; unlink it from that one first`,
      );
    }
    try {
      await deps.store.applyDecision(tenantDecision(deps, account, input, 'link'));
    } catch (error) {
      if (error instanceof ConcurrencyConflictError && attempt < maxAttempts) continue;
      throw error;
    }
    return finish(deps, account, true);
  }
};

/**
 * Unlinks a marketplace account from the vendor's tenant, on an admin's request: one atomic
 * write of the account without a tenant, the audit record and the `account.unlinked` event
 * (`data.previousTenantId`), then every purchase of the account loses the tenant.
 *
 * A repeated call that finds the account unlinked but a purchase still carrying the tenant
 * (the first call stopped after its write) finishes the job instead of answering not found.
 *
 * @throws NotFoundError when no account has that id, or it is not linked to the tenant.
 * @throws ConcurrencyConflictError (retryable) when every attempt lost its race.
 */
export const unlinkTenantAccount = async (
  deps: TenantAccountDeps,
  input: TenantAccountInput,
): Promise<TenantAccountResult> => {
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const notLinked = () =>
    new NotFoundError(`a link of account ${vendorIdOf(input.account)} to tenant ${input.tenantId}`);
  for (let attempt = 1; ; attempt += 1) {
    const account = await deps.store.getAccount(input.account);
    if (account === null) throw notLinked();
    if (tenantOf(account) !== input.tenantId) {
      if (!(await anyEntitlementOf(deps, input.account, input.tenantId))) throw notLinked();
      return finish(deps, account, false);
    }
    try {
      await deps.store.applyDecision(tenantDecision(deps, account, input, 'unlink'));
    } catch (error) {
      if (error instanceof ConcurrencyConflictError && attempt < maxAttempts) continue;
      throw error;
    }
    return finish(deps, account, true);
  }
};
