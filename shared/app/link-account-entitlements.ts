import { ConcurrencyConflictError } from '../domain/errors';
import type { Account, AccountRef, Entitlement } from '../domain/model';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';
import { allEntitlements } from './all-entitlements';

const MAX_ATTEMPTS = 5;

interface LinkingDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Attempts when a write keeps losing races; 5 unless given. */
  readonly maxAttempts?: number;
}

/**
 * Writes `tenantId` (or none) on one purchase while `due(stored purchase)`, deciding again from
 * the stored purchase when a concurrent change wins the race.
 *
 * @returns whether it wrote.
 */
export const setEntitlementTenant = async (
  deps: LinkingDeps,
  entitlement: Entitlement,
  tenantId: string | null,
  due: (current: Entitlement) => boolean = (current) => current.tenantId !== tenantId,
): Promise<boolean> => {
  const maxAttempts = deps.maxAttempts ?? MAX_ATTEMPTS;
  let current: Entitlement | null = entitlement;
  for (let attempt = 1; current && due(current); attempt += 1) {
    try {
      await deps.store.putEntitlement(
        { ...current, tenantId, updatedAtEpochMs: deps.clock.now() },
        current.version,
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= maxAttempts) throw error;
      current = error.current as Entitlement | null;
    }
  }
  return false;
};

/** The tenant an account is linked to, or `null`. */
export const tenantOf = (account: Account | null): string | null =>
  account?.tenant?.tenantId ?? null;

/**
 * Makes every purchase of the account carry the account's tenant (or none), whatever the
 * account's tenant is now: how a signup, a link or an unlink reaches the account's purchases
 * (those recorded before the buyer signed up, several Google orders, concurrent AWS agreements).
 * The account is read again after the purchases are set, and the round runs again when it
 * changed meanwhile (a link or unlink that committed after this one's write), so the purchases
 * end up following the account's last state. Safe to run any number of times: it is also how a
 * job interrupted after its write is finished by the next call.
 *
 * @returns the account as stored at the end, and how many purchases this call wrote.
 */
export const followAccountTenant = async (
  deps: LinkingDeps,
  ref: AccountRef,
): Promise<{ account: Account | null; updated: number }> => {
  const maxAttempts = deps.maxAttempts ?? MAX_ATTEMPTS;
  let updated = 0;
  let account = await deps.store.getAccount(ref);
  const query = { by: 'account', cloud: ref.cloud, accountId: ref.id } as const;
  for (let round = 1; ; round += 1) {
    const tenantId = tenantOf(account);
    for await (const entitlement of allEntitlements(deps.store, query)) {
      if (await setEntitlementTenant(deps, entitlement, tenantId)) updated += 1;
    }
    const after = await deps.store.getAccount(ref);
    if (tenantOf(after) === tenantId || round >= maxAttempts) return { account: after, updated };
    account = after;
  }
};
