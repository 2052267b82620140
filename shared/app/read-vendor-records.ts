import { NotFoundError } from '../domain/errors';
import type {
  Account,
  DeliveryAttempt,
  Entitlement,
  EntitlementRef,
  OutboxMessage,
} from '../domain/model';
import { vendorIdOf } from '../domain/vendor-events';
import type { EntitlementQuery, Page, PageRequest, Store } from '../ports/store';

/**
 * What the vendor's app reads of the records, as the vendor API serves it: the purchases, the
 * tenants and the event log. Reads only; nothing here writes.
 */

export interface ReadDeps {
  readonly store: Store;
}

/**
 * One purchase.
 *
 * @throws NotFoundError when no purchase has that id.
 */
export const getVendorEntitlement = async (
  deps: ReadDeps,
  ref: EntitlementRef,
): Promise<Entitlement> => {
  const entitlement = await deps.store.getEntitlement(ref);
  if (entitlement === null) throw new NotFoundError(`entitlement ${vendorIdOf(ref)}`);
  return entitlement;
};

/** The purchases of a tenant, an account or in a status, a page at a time. */
export const listVendorEntitlements = (
  deps: ReadDeps,
  query: EntitlementQuery,
  page: PageRequest,
): Promise<Page<Entitlement>> => deps.store.listEntitlements(query, page);

/** A tenant's marketplace accounts and the first page of its purchases. */
export interface TenantRecords {
  readonly tenantId: string;
  readonly accounts: readonly Account[];
  readonly entitlements: Page<Entitlement>;
}

/** The most accounts a tenant's view lists; a tenant holds a handful in practice. */
export const MAX_TENANT_ACCOUNTS = 1_000;
const ACCOUNT_PAGE = 100;

/**
 * A tenant as the connector knows it: every marketplace account linked to it (up to
 * {@link MAX_TENANT_ACCOUNTS}) and the first page of its purchases, whose cursor continues with
 * the tenant's listing of purchases.
 *
 * @throws NotFoundError when no account and no purchase belongs to the tenant.
 */
export const getVendorTenant = async (
  deps: ReadDeps,
  tenantId: string,
  entitlementPage: PageRequest,
): Promise<TenantRecords> => {
  const accounts: Account[] = [];
  let cursor: string | null = null;
  do {
    const page = await deps.store.listAccounts(
      { by: 'tenant', tenantId },
      { limit: ACCOUNT_PAGE, cursor },
    );
    accounts.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && accounts.length < MAX_TENANT_ACCOUNTS);
  const entitlements = await deps.store.listEntitlements(
    { by: 'tenant', tenantId },
    entitlementPage,
  );
  if (accounts.length === 0 && entitlements.items.length === 0) {
    throw new NotFoundError(`tenant ${tenantId}`);
  }
  return { tenantId, accounts: accounts.slice(0, MAX_TENANT_ACCOUNTS), entitlements };
};

/** The event log: every event that occurred in `[fromEpochMs, toEpochMs)`, oldest first. */
export const listVendorEvents = (
  deps: ReadDeps,
  range: { readonly fromEpochMs: number; readonly toEpochMs: number },
  page: PageRequest,
): Promise<Page<OutboxMessage>> => deps.store.listOutbox({ by: 'time', ...range }, page);

/** One event and a page of its delivery log, oldest first. */
export interface VendorEventRecord {
  readonly message: OutboxMessage;
  readonly deliveries: Page<DeliveryAttempt>;
}

/**
 * One event of the log with its deliveries.
 *
 * @throws NotFoundError when no event has that id.
 */
export const getVendorEvent = async (
  deps: ReadDeps,
  id: string,
  deliveryPage: PageRequest,
): Promise<VendorEventRecord> => {
  const message = await deps.store.getOutboxMessage(id);
  if (message === null) throw new NotFoundError(`event ${id}`);
  return { message, deliveries: await deps.store.listDeliveryAttempts(id, deliveryPage) };
};
