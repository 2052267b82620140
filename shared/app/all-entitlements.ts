import type { Entitlement } from '../domain/model';
import type { EntitlementQuery, Store } from '../ports/store';

/** Every entitlement `query` lists, page after page; stop early by leaving the loop. */
export async function* allEntitlements(
  store: Store,
  query: EntitlementQuery,
  pageSize = 100,
): AsyncGenerator<Entitlement> {
  let cursor: string | null = null;
  do {
    const page = await store.listEntitlements(query, { limit: pageSize, cursor });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}
