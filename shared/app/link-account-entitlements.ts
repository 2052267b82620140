import { ConcurrencyConflictError } from '../domain/errors';
import type { AccountRef, Entitlement } from '../domain/model';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';
import { allEntitlements } from './all-entitlements';

const MAX_ATTEMPTS = 5;

/**
 * Gives the account's purchases that have no tenant yet the account's tenant, so the vendor
 * sees them: those recorded before the buyer signed up, and a buyer's other purchases
 * (several Google orders, concurrent AWS agreements). A purchase linked meanwhile is left as
 * it is.
 */
export const linkAccountEntitlements = async (
  deps: { readonly store: Store; readonly clock: Clock },
  account: AccountRef,
  tenantId: string,
): Promise<void> => {
  const query = { by: 'account', cloud: account.cloud, accountId: account.id } as const;
  for await (const entitlement of allEntitlements(deps.store, query)) {
    if (entitlement.tenantId === null) await linkEntitlement(deps, entitlement, tenantId);
  }
};

/**
 * Writes `tenantId` (or none) on one purchase while `due(stored purchase)`, deciding again from
 * the stored purchase when a concurrent change wins the race.
 *
 * @returns whether it wrote.
 */
export const setEntitlementTenant = async (
  deps: { readonly store: Store; readonly clock: Clock; readonly maxAttempts?: number },
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

/** Gives one purchase the tenant unless it has one; a purchase linked meanwhile stays as it is. */
export const linkEntitlement = (
  deps: { readonly store: Store; readonly clock: Clock },
  entitlement: Entitlement,
  tenantId: string,
): Promise<boolean> =>
  setEntitlementTenant(deps, entitlement, tenantId, (current) => current.tenantId === null);
