import { ConcurrencyConflictError } from '../domain/errors';
import type { AccountRef, Entitlement } from '../domain/model';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';

const PAGE = 100;

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
  let cursor: string | null = null;
  do {
    const page = await deps.store.listEntitlements(
      { by: 'account', cloud: account.cloud, accountId: account.id },
      { limit: PAGE, cursor },
    );
    for (const entitlement of page.items.filter((e) => e.tenantId === null)) {
      await linkEntitlement(deps, entitlement, tenantId);
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
};

/** Gives one purchase the tenant unless it has one; a purchase linked meanwhile stays as it is. */
export const linkEntitlement = async (
  deps: { readonly store: Store; readonly clock: Clock },
  entitlement: Entitlement,
  tenantId: string,
): Promise<void> => {
  let current: Entitlement | null = entitlement;
  for (let attempt = 1; current && current.tenantId === null; attempt += 1) {
    try {
      await deps.store.putEntitlement(
        { ...current, tenantId, updatedAtEpochMs: deps.clock.now() },
        current.version,
      );
      return;
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= 5) throw error;
      current = error.current as Entitlement | null;
    }
  }
};
