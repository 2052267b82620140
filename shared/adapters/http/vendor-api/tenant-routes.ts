import { z } from 'zod';
import { linkTenantAccount, unlinkTenantAccount } from '../../../app/link-tenant-account';
import type { TenantAccountDeps } from '../../../app/link-tenant-account';
import { getVendorTenant } from '../../../app/read-vendor-records';
import { readJsonBody } from './request-body';
import { accountResource, entitlementResource } from './resources';
import { jsonResponse } from './responses';
import type { Route, RouteContext } from './route';
import { pathTemplate } from './route-path';
import { parseInput, singleValues, tenantIdSchema, vendorIdSchema } from './validation';

/** A tenant's view lists this many purchases; its cursor goes on with GET /v1/entitlements. */
const TENANT_ENTITLEMENTS_PAGE = 100;

const noQuery = z.strictObject({});
const tenantPathSchema = z.object({ tenantId: tenantIdSchema });
const linkBodySchema = z.strictObject({ accountId: vendorIdSchema });
const unlinkPathSchema = z.object({ tenantId: tenantIdSchema, accountId: vendorIdSchema });

const linkDeps = ({ deps }: RouteContext): TenantAccountDeps => ({
  store: deps.store,
  clock: deps.clock,
  eventTtlSeconds: deps.eventTtlSeconds,
  newId: deps.newId,
});

/** GET /v1/tenants/{tenantId}: the tenant's marketplace accounts and purchases. */
const getTenant: Route = {
  method: 'GET',
  path: pathTemplate('/v1/tenants/{tenantId}'),
  scope: 'read',
  takesBody: false,
  handle: async ({ request, params, deps }) => {
    parseInput(noQuery, singleValues(request.query), 'query');
    const { tenantId } = parseInput(tenantPathSchema, params, 'path');
    const tenant = await getVendorTenant(deps, tenantId, { limit: TENANT_ENTITLEMENTS_PAGE });
    return jsonResponse(200, {
      id: tenant.tenantId,
      accounts: tenant.accounts.map(accountResource),
      entitlements: tenant.entitlements.items.map(entitlementResource),
      entitlementsNextCursor: tenant.entitlements.nextCursor,
    });
  },
};

/** POST /v1/tenants/{tenantId}/accounts: links an existing marketplace account to the tenant. */
const linkAccount: Route = {
  method: 'POST',
  path: pathTemplate('/v1/tenants/{tenantId}/accounts'),
  scope: 'admin',
  takesBody: true,
  handle: async (context) => {
    const { request, params, caller, logger } = context;
    parseInput(noQuery, singleValues(request.query), 'query');
    const { tenantId } = parseInput(tenantPathSchema, params, 'path');
    const body = parseInput(linkBodySchema, readJsonBody(request), 'body');
    const result = await linkTenantAccount(linkDeps(context), {
      tenantId,
      account: body.accountId,
      actor: caller.keyId,
    });
    logger.info('account linked', {
      cloud: body.accountId.cloud,
      accountId: body.accountId.id,
      tenantId,
      changed: result.changed,
      entitlementsUpdated: result.entitlementsUpdated,
    });
    return jsonResponse(result.changed ? 201 : 200, accountResource(result.account));
  },
};

/** DELETE /v1/tenants/{tenantId}/accounts/{accountId}: unlinks the account from the tenant. */
const unlinkAccount: Route = {
  method: 'DELETE',
  path: pathTemplate('/v1/tenants/{tenantId}/accounts/{accountId+}'),
  scope: 'admin',
  takesBody: false,
  handle: async (context) => {
    const { request, params, caller, logger } = context;
    parseInput(noQuery, singleValues(request.query), 'query');
    const { tenantId, accountId } = parseInput(unlinkPathSchema, params, 'path');
    const result = await unlinkTenantAccount(linkDeps(context), {
      tenantId,
      account: accountId,
      actor: caller.keyId,
    });
    logger.info('account unlinked', {
      cloud: accountId.cloud,
      accountId: accountId.id,
      tenantId,
      changed: result.changed,
      entitlementsUpdated: result.entitlementsUpdated,
    });
    return jsonResponse(200, accountResource(result.account));
  },
};

export const TENANT_ROUTES: readonly Route[] = [getTenant, linkAccount, unlinkAccount];
