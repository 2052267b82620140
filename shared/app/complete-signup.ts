import { EventOutcome } from '../domain/model';
import type { Account, Cloud } from '../domain/model';
import { isNewSignup, outboxMessagesFor, signedUpAccount } from '../domain/decision';
import { ConcurrencyConflictError, MarketplaceApiError, NotFoundError } from '../domain/errors';
import { VendorEventType } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { MarketplaceApprovals } from '../ports/marketplace';
import type { Store } from '../ports/store';
import { answerMarketplace } from './answer-marketplace';
import { followAccountTenant } from './link-account-entitlements';
import type { AnswerMarketplaceDeps } from './answer-marketplace';

export interface CompleteSignupDeps {
  readonly store: Store;
  readonly approvals: MarketplaceApprovals;
  readonly answering: AnswerMarketplaceDeps;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly eventTtlSeconds: number;
  /** A new vendor tenant id, for a buyer account seen for the first time. */
  readonly newTenantId: () => string;
  readonly maxAttempts?: number;
}

export interface CompleteSignupInput {
  readonly cloud: Cloud;
  readonly accountId: string;
  /** Identifies this signup for dedupe and audit (one per verified token). */
  readonly signupId: string;
  /** The marketplace's id of the person who signed up: personal data, purged with the account. */
  readonly userIdentity: string | null;
  /** What the token said, minus personal data, kept as the audit of the signup. */
  readonly audit: Record<string, unknown>;
}

export interface CompleteSignupResult {
  readonly tenantId: string;
  readonly accountId: string;
  /** Purchases the policy approved (or rejected) during this signup. */
  readonly answeredEntitlements: readonly string[];
  /**
   * This signup sent `account.signed_up`: the account's first, or one that gave an account an
   * admin had unlinked a new tenant.
   */
  readonly firstSignup: boolean;
}

const alreadyDone = (error: unknown): boolean =>
  error instanceof MarketplaceApiError && error.code === 'FAILED_PRECONDITION';

/**
 * Completes a verified signup:
 * 1. tells the marketplace the buyer signed up (an approval already given is fine);
 * 2. links the account to a vendor tenant (the one it has, or a new one when it has none: the
 *    first time, and after an admin unlinked it) and records it as signed up, in one atomic
 *    write with `account.signed_up` for the vendor whenever that write gives it its tenant;
 * 3. gives the account's stored purchases the account's tenant, as stored after that write;
 * 4. answers the account's purchases that waited for the signup, per the approval policy.
 * Safe to repeat: a replayed signup changes nothing and answers the account's tenant (one an
 * admin unlinked meanwhile is signed up again).
 *
 * @throws NotFoundError when the marketplace no longer knows the account.
 * @throws MarketplaceApiError (retryable when the marketplace may recover).
 */
export const completeSignup = async (
  deps: CompleteSignupDeps,
  input: CompleteSignupInput,
): Promise<CompleteSignupResult> => {
  const logger = deps.logger.child({ cloud: input.cloud, accountId: input.accountId });
  try {
    await deps.approvals.approveSignup(input.accountId);
  } catch (error) {
    if (error instanceof MarketplaceApiError && error.code === 'NOT_FOUND') {
      throw new NotFoundError(`account ${input.accountId}`);
    }
    if (!alreadyDone(error)) throw error;
  }

  const { account, firstSignup } = await recordSignup(deps, input);
  const tenantId = account.tenant!.tenantId;

  // Linked before they are approved: the events approvals cause then find them linked. They
  // follow the account as it is after the write: an unlink that commits meanwhile wins.
  await followAccountTenant(deps, { cloud: input.cloud, id: input.accountId });
  const answered: string[] = [];
  for (const { id, observed } of await deps.approvals.listAwaitingApproval(input.accountId)) {
    if ((await answerMarketplace(deps.answering, id, observed, true)) === 'answered') {
      answered.push(id);
    }
  }
  logger.info('signup completed', { tenantId, firstSignup, answered: answered.length });
  return { tenantId, accountId: input.accountId, answeredEntitlements: answered, firstSignup };
};

/**
 * The signup's one atomic write, decided again from what is stored when it loses a race. A
 * replayed token (Google's signup id is the token's account and issue time) finds its signup
 * recorded: it changes nothing while the account has a tenant, and once an admin unlinked the
 * account it signs it up again, as any signup of an account without a tenant, recorded under
 * an id of its own (the signup's and the account version it read).
 */
const recordSignup = async (
  deps: CompleteSignupDeps,
  input: CompleteSignupInput,
): Promise<{ account: Account; firstSignup: boolean }> => {
  const ref = { cloud: input.cloud, id: input.accountId };
  const maxAttempts = deps.maxAttempts ?? 5;
  let replayed = false;
  for (let attempt = 1; ; attempt += 1) {
    const now = deps.clock.now();
    const current = await deps.store.getAccount(ref);
    if (replayed && current?.tenant) return { account: current, firstSignup: false };
    const eventId = replayed ? `${input.signupId}:v${current?.version ?? 0}` : input.signupId;
    const firstSignup = isNewSignup(current);
    const next = signedUpAccount(ref, current, {
      nowEpochMs: now,
      newTenantId: deps.newTenantId,
      userIdentity: input.userIdentity,
    });
    const outbox = outboxMessagesFor(
      { cloud: input.cloud, eventId },
      firstSignup ? [VendorEventType.accountSignedUp] : [],
      { accountId: input.accountId, entitlement: null, tenantId: next.tenant!.tenantId },
      now,
    );
    let written: 'applied' | 'duplicate';
    try {
      written = await deps.store.applyDecision({
        event: {
          cloud: input.cloud,
          eventId,
          type: 'SIGNUP',
          accountId: input.accountId,
          entitlementId: null,
          outcome: EventOutcome.applied,
          reason: null,
          payload: input.audit,
          receivedAtEpochMs: now,
          expiresAtEpochSeconds: Math.floor(now / 1000) + deps.eventTtlSeconds,
        },
        account: { next, expectedVersion: current?.version ?? 0 },
        entitlement: null,
        outbox,
      });
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= maxAttempts) throw error;
      continue;
    }
    if (written === 'applied') return { account: next, firstSignup };
    if (attempt >= maxAttempts) {
      throw new ConcurrencyConflictError(`signup ${eventId} is recorded already`, current);
    }
    replayed = true;
  }
};
