import type { Decision } from '../domain/decision';
import { ConcurrencyConflictError } from '../domain/errors';
import type { Account, AccountRef, Entitlement } from '../domain/model';
import { hasEnded } from '../domain/entitlement';
import { AccountStatus, EntitlementStatus } from '../domain/model';
import {
  accountHoldsPersonalData,
  entitlementHoldsPersonalData,
  purgeAuditRecord,
  purgedAccount,
  purgedEntitlement,
} from '../domain/personal-data';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import { allEntitlements } from './all-entitlements';

export interface PurgePersonalDataDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long an ended purchase keeps its personal data. */
  readonly retentionMs: number;
  /** How long the anonymised audit records are kept. */
  readonly auditTtlSeconds: number;
}

export interface PurgeResult {
  readonly entitlements: number;
  readonly accounts: number;
}

type WriteDeps = Omit<PurgePersonalDataDeps, 'retentionMs'>;
type Reason = 'retention' | 'account_deleted';
const MAX_ATTEMPTS = 5;

/**
 * Writes `decide(current)` (a purge and its audit, in one atomic write) while `stillDue`,
 * deciding again from the stored record when a concurrent change wins the race.
 *
 * @returns whether this call purged the record (false: nothing was left to purge).
 */
const purgeWhileDue = async <T extends Account | Entitlement>(
  deps: WriteDeps,
  record: T,
  stillDue: (current: T) => boolean,
  decide: (current: T, nowEpochMs: number) => Decision,
): Promise<boolean> => {
  let current: T | null = record;
  for (let attempt = 1; current && stillDue(current); attempt += 1) {
    try {
      return (await deps.store.applyDecision(decide(current, deps.clock.now()))) === 'applied';
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      current = error.current as T | null;
    }
  }
  return false;
};

const purgeEntitlement = (
  deps: WriteDeps,
  entitlement: Entitlement,
  reason: Reason,
  stillDue: (current: Entitlement) => boolean = entitlementHoldsPersonalData,
): Promise<boolean> =>
  purgeWhileDue(deps, entitlement, stillDue, (current, now) => ({
    event: purgeAuditRecord(
      { kind: 'entitlement', record: current },
      reason,
      now,
      deps.auditTtlSeconds,
    ),
    account: null,
    entitlement: { next: purgedEntitlement(current, now), expectedVersion: current.version },
    outbox: [],
  }));

const purgeAccount = (deps: WriteDeps, account: Account, reason: Reason) =>
  purgeWhileDue(deps, account, accountHoldsPersonalData, (current, now) => ({
    event: purgeAuditRecord(
      { kind: 'account', record: current },
      reason,
      now,
      deps.auditTtlSeconds,
    ),
    account: { next: purgedAccount(current, now), expectedVersion: current.version },
    entitlement: null,
    outbox: [],
  }));

const ofAccount = (ref: AccountRef) =>
  ({ by: 'account', cloud: ref.cloud, accountId: ref.id }) as const;

/** Not yet marked purged, or holding data again: what a deleted account's purchase must not be. */
const dueAtAccountDeletion = (entitlement: Entitlement): boolean =>
  entitlement.purgedAtEpochMs === null || entitlementHoldsPersonalData(entitlement);

/**
 * Google requires a deleted account's data gone at once: the account's own was dropped in the
 * write that recorded the deletion; this purges every purchase of the account too, whatever
 * its status, marking each purged so that later messages keep it so, and the account again
 * should anything have come back since. Safe to repeat: what is done is not written again.
 */
export const purgeDeletedAccount = async (
  deps: Omit<PurgePersonalDataDeps, 'retentionMs'>,
  ref: AccountRef,
): Promise<PurgeResult> => {
  let entitlements = 0;
  for await (const entitlement of allEntitlements(deps.store, ofAccount(ref))) {
    if (await purgeEntitlement(deps, entitlement, 'account_deleted', dueAtAccountDeletion)) {
      entitlements += 1;
    }
  }
  const account = await deps.store.getAccount(ref);
  const accountPurged = account !== null && (await purgeAccount(deps, account, 'account_deleted'));
  deps.logger.info('deleted account purged', { entitlements, account: accountPurged });
  return { entitlements, accounts: accountPurged ? 1 : 0 };
};

/** When an ended purchase's retention started; rows written before that was kept: last write. */
const endedAtOf = (entitlement: Entitlement): number =>
  entitlement.endedAtEpochMs ?? entitlement.updatedAtEpochMs;

/**
 * The retention run: purchases that ended (cancelled or deleted) longer than the retention ago,
 * counted from when they ended, lose their personal data, and so does an account once every
 * purchase of it has ended that long ago. Each purge leaves an anonymised audit record.
 *
 * Its candidates are the ended purchases that still hold personal data, read from the listing
 * by status (a connector's ended purchases number in the thousands, not millions, so that stays
 * cheap and needs no second list to keep in step), and their accounts, read once each. An
 * account found deleted has every purchase purged at once, whatever its status: a purge after
 * Google's deletion that did not finish. An account is purged before its purchases, so a run
 * that fails in between leaves them holding data and the next run comes back to it. Safe to
 * run again at any time: a purged record has nothing left to purge.
 */
export const purgeEndedPurchases = async (deps: PurgePersonalDataDeps): Promise<PurgeResult> => {
  const endedBefore = deps.clock.now() - deps.retentionMs;
  const pastRetention = (entitlement: Entitlement) => endedAtOf(entitlement) <= endedBefore;
  const isDue = (entitlement: Entitlement) =>
    hasEnded(entitlement.status) &&
    pastRetention(entitlement) &&
    entitlementHoldsPersonalData(entitlement);

  const holding = new Map<string, { ref: AccountRef; ended: Entitlement[] }>();
  for (const status of [EntitlementStatus.cancelled, EntitlementStatus.deleted]) {
    for await (const entitlement of allEntitlements(deps.store, { by: 'status', status })) {
      if (!entitlementHoldsPersonalData(entitlement)) continue;
      const key = `${entitlement.cloud}:${entitlement.accountId}`;
      const candidates = holding.get(key) ?? {
        ref: { cloud: entitlement.cloud, id: entitlement.accountId },
        ended: [],
      };
      candidates.ended.push(entitlement);
      holding.set(key, candidates);
    }
  }

  const purged = { entitlements: 0, accounts: 0 };
  for (const { ref, ended } of holding.values()) {
    const account = await deps.store.getAccount(ref);
    if (account?.status === AccountStatus.deleted) {
      const result = await purgeDeletedAccount(deps, ref);
      purged.entitlements += result.entitlements;
      purged.accounts += result.accounts;
      continue;
    }
    const due = ended.filter(pastRetention);
    if (due.length === 0) continue;
    if (account && (await purgeAccountIfAllEnded(deps, account, pastRetention))) {
      purged.accounts += 1;
    }
    for (const entitlement of due) {
      if (await purgeEntitlement(deps, entitlement, 'retention', isDue)) purged.entitlements += 1;
    }
  }
  deps.logger.info('retention run', purged);
  return purged;
};

/**
 * An account keeps its personal data while any purchase of it is live or still retained; one
 * that no longer holds any was purged already (its retention or its account's deletion).
 */
const purgeAccountIfAllEnded = async (
  deps: PurgePersonalDataDeps,
  account: Account,
  pastRetention: (entitlement: Entitlement) => boolean,
): Promise<boolean> => {
  if (!accountHoldsPersonalData(account)) return false;
  for await (const entitlement of allEntitlements(deps.store, ofAccount(account))) {
    const ended =
      hasEnded(entitlement.status) &&
      (pastRetention(entitlement) || !entitlementHoldsPersonalData(entitlement));
    if (!ended) return false;
  }
  return purgeAccount(deps, account, 'retention');
};
