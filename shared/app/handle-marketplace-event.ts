import { GONE, decideEvent } from '../domain/decision';
import type { Decision, MarketplaceEventCommand, Observation } from '../domain/decision';
import { AccountStatus } from '../domain/model';
import type { Account } from '../domain/model';
import type { LifecycleEvent } from '../domain/entitlement';
import { ConcurrencyConflictError } from '../domain/errors';
import type { EventOutcome } from '../domain/model';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { MarketplaceObserver } from '../ports/marketplace';
import type { EventContext, Store } from '../ports/store';
import { answerMarketplace } from './answer-marketplace';
import type { AnswerMarketplaceDeps } from './answer-marketplace';
import { setEntitlementTenant } from './link-account-entitlements';
import { purgeDeletedAccount } from './purge-personal-data';

export interface HandleMarketplaceEventDeps {
  readonly store: Store;
  readonly marketplace: MarketplaceObserver;
  /** Where the marketplace waits for the vendor's approval (Google): how to answer it. */
  readonly answering?: AnswerMarketplaceDeps;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long event records are kept for dedupe and audit. */
  readonly eventTtlSeconds: number;
  /** Attempts when the write keeps losing races; 5 unless given. */
  readonly maxAttempts?: number;
}

export interface HandleMarketplaceEventResult {
  readonly outcome: EventOutcome | 'duplicate';
  readonly vendorEvents: readonly string[];
  readonly attempts: number;
}

export type { LifecycleEvent, MarketplaceEventCommand };

/**
 * Handles one marketplace message:
 * 1. load the event record, account and entitlement (one read); a recorded event is a no-op;
 * 2. re-read the marketplace (once, whatever the retries) and, where it waits for the vendor,
 *    answer it per the approval policy and read it again (what was read is stale then);
 * 3. decide on (message, stored state, marketplace state), a pure step;
 * 4. write state, event record and outbox rows in one atomic write;
 * 5. when the write loses a race, go back to 1 with what is stored now;
 * 6. when the purchase is new, give it the account's tenant as it is after the write (a signup,
 *    link or unlink may have committed meanwhile);
 *    when the account is stored deleted, purge its purchases' personal data (and finish a purge
 *    an earlier delivery left undone: a recorded message does that too).
 *
 * @throws ConcurrencyConflictError (retryable) when every attempt lost its race.
 * @throws MarketplaceApiError from the re-read; retryable when the marketplace may recover.
 */
export const handleMarketplaceEvent = async (
  deps: HandleMarketplaceEventDeps,
  command: MarketplaceEventCommand,
): Promise<HandleMarketplaceEventResult> => {
  const maxAttempts = deps.maxAttempts ?? 5;
  const logger = deps.logger.child({ cloud: command.cloud, eventId: command.eventId });
  let seen: { observation: Observation; account: Account | null } | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const context = await deps.store.loadEventContext(command);
    if (context.eventRecorded) {
      logger.info('duplicate event ignored', { type: command.type });
      await purgeIfAccountDeleted(deps, context.account);
      return { outcome: 'duplicate', vendorEvents: [], attempts: attempt };
    }
    seen ??= await observeAndAnswer(deps, command, context);
    const decision = decideEvent(command, seen.observation, {
      account: context.account ?? seen.account,
      entitlement: context.entitlement,
      nowEpochMs: deps.clock.now(),
      eventTtlSeconds: deps.eventTtlSeconds,
    });
    try {
      const written = await deps.store.applyDecision(decision);
      if (written === 'applied') await followAccountChangedMeanwhile(deps, decision);
      const account = written === 'applied' ? decision.account?.next : undefined;
      await purgeIfAccountDeleted(deps, account ?? context.account);
      const vendorEvents = written === 'applied' ? decision.outbox.map((m) => m.type) : [];
      const outcome = written === 'applied' ? decision.event.outcome : 'duplicate';
      logger.info('event handled', { type: command.type, outcome, vendorEvents, attempt });
      return { outcome, vendorEvents, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= maxAttempts) throw error;
      logger.warn('lost a race, deciding again', { attempt });
    }
  }
};

/**
 * Re-reads the marketplace and answers it where it waits for the vendor. Reads the account
 * from the store only when the message did not name it and it matters: to approve (was the
 * signup verified?) or to link a first-seen purchase to the account's tenant.
 */
const observeAndAnswer = async (
  deps: HandleMarketplaceEventDeps,
  command: MarketplaceEventCommand,
  context: EventContext,
): Promise<{ observation: Observation; account: Account | null }> => {
  const observation = await deps.marketplace.observe(command);
  const entitlement = observation.entitlement;
  if (entitlement === undefined || entitlement === GONE) return { observation, account: null };
  const needsAccount = context.entitlement === null || Boolean(entitlement.awaiting);
  const account =
    context.account ??
    (needsAccount
      ? await deps.store.getAccount({ cloud: command.cloud, id: entitlement.accountId })
      : null);
  if (!deps.answering || !entitlement.awaiting || !command.entitlementId) {
    return { observation, account };
  }
  const answered = await answerMarketplace(
    deps.answering,
    command.entitlementId,
    entitlement,
    account?.status === 'active',
  );
  // Answered, or refused because it moved on: either way the read is stale, so read again.
  return answered === 'nothing'
    ? { observation, account }
    : { observation: await deps.marketplace.observe(command), account };
};

/**
 * A purchase first seen now takes the tenant its account had when it was read. A signup, link
 * or unlink that commits between that read and this write brings the account's purchases it can
 * list in line, which this one is not yet among; nothing in this write depends on the account,
 * so it does not conflict. Reading the account after the write closes that gap: either that
 * listing found this purchase, or this read finds the account's tenant (or none) as it is now.
 */
const followAccountChangedMeanwhile = async (
  deps: HandleMarketplaceEventDeps,
  decision: Decision,
): Promise<void> => {
  // Only a purchase created now can be missing from such a listing; one that existed before
  // was listed and set there (a concurrent change makes that write retry).
  const written = decision.entitlement?.next;
  if (!written || decision.entitlement?.expectedVersion !== 0) return;
  const account = await deps.store.getAccount({ cloud: written.cloud, id: written.accountId });
  if (!account) return;
  const tenantId = account.tenant?.tenantId ?? null;
  if (tenantId === written.tenantId) return;
  const current = await deps.store.getEntitlement({ cloud: written.cloud, id: written.id });
  // Only while it still has the tenant this write gave it: any later change of it is newer.
  if (current) {
    await setEntitlementTenant(deps, current, tenantId, (c) => c.tenantId === written.tenantId);
  }
};

/**
 * Google requires a deleted account's data gone at once, its purchases' included. The write that
 * records the deletion comes first: a purge that fails after it makes the message fail, and its
 * redelivery, recorded already, finishes the purge here (what is purged is not written again).
 */
const purgeIfAccountDeleted = async (
  deps: HandleMarketplaceEventDeps,
  account: Account | null,
): Promise<void> => {
  if (account?.status !== AccountStatus.deleted) return;
  await purgeDeletedAccount(
    {
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      auditTtlSeconds: deps.eventTtlSeconds,
    },
    account,
  );
};
