import { z } from 'zod';
import { getVendorEntitlement, listVendorEntitlements } from '../../../app/read-vendor-records';
import type { EntitlementQuery } from '../../../ports/store';
import { entitlementResource } from './resources';
import { jsonResponse } from './responses';
import type { Route } from './route';
import { pathTemplate } from './route-path';
import {
  cursorSchema,
  entitlementStatusSchema,
  limitSchema,
  parseInput,
  singleValues,
  tenantIdSchema,
  vendorIdSchema,
  withCursor,
} from './validation';

const FILTERS = ['tenantId', 'accountId', 'status'] as const;

const listQuerySchema = z
  .strictObject({
    tenantId: tenantIdSchema.optional(),
    accountId: vendorIdSchema.optional(),
    status: entitlementStatusSchema.optional(),
    limit: limitSchema,
    cursor: cursorSchema.optional(),
  })
  .superRefine((query, ctx) => {
    // One listing at a time: the store pages each by its own index.
    if (FILTERS.filter((name) => query[name] !== undefined).length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of ${FILTERS.join(', ')}`,
      });
    }
  });

const noQuery = z.strictObject({});

/** GET /v1/entitlements: the purchases of a tenant, an account, or in a status. */
const listEntitlements: Route = {
  method: 'GET',
  path: pathTemplate('/v1/entitlements'),
  scope: 'read',
  takesBody: false,
  handle: async ({ request, deps }) => {
    const query = parseInput(listQuerySchema, singleValues(request.query), 'query');
    const filter: EntitlementQuery =
      query.tenantId !== undefined
        ? { by: 'tenant', tenantId: query.tenantId }
        : query.accountId !== undefined
          ? { by: 'account', cloud: query.accountId.cloud, accountId: query.accountId.id }
          : { by: 'status', status: query.status! };
    const page = await withCursor(() =>
      listVendorEntitlements(deps, filter, { limit: query.limit, cursor: query.cursor ?? null }),
    );
    return jsonResponse(200, {
      items: page.items.map(entitlementResource),
      nextCursor: page.nextCursor,
    });
  },
};

/** GET /v1/entitlements/{id}: one purchase, by vendor id. */
const getEntitlement: Route = {
  method: 'GET',
  path: pathTemplate('/v1/entitlements/{id+}'),
  scope: 'read',
  takesBody: false,
  handle: async ({ request, params, deps }) => {
    parseInput(noQuery, singleValues(request.query), 'query');
    const { id } = parseInput(z.object({ id: vendorIdSchema }), params, 'path');
    return jsonResponse(200, entitlementResource(await getVendorEntitlement(deps, id)));
  },
};

export const ENTITLEMENT_ROUTES: readonly Route[] = [listEntitlements, getEntitlement];
