import { ApiErrorCode, VendorApiError } from './api-error';
import { createApiKeyAuthenticator, requireScope } from './api-key';
import type { ApiCaller } from './api-key';
import { ENTITLEMENT_ROUTES } from './entitlement-routes';
import { EVENT_ROUTES } from './event-routes';
import type { VendorApiRequest, VendorApiResponse } from './http-exchange';
import { assertBodySize, assertNoBody } from './request-body';
import { apiErrorOf, errorResponse } from './responses';
import type { Route } from './route';
import { decodePathParams } from './route-path';
import { TENANT_ROUTES } from './tenant-routes';
import { USAGE_ROUTES } from './usage-routes';
import type { VendorApiDeps } from './vendor-api-deps';

/** Every route of the API; where two templates take the same path, the first listed wins. */
export const VENDOR_API_ROUTES: readonly Route[] = [
  ...ENTITLEMENT_ROUTES,
  ...TENANT_ROUTES,
  ...EVENT_ROUTES,
  ...USAGE_ROUTES,
];

export interface RouteMatch {
  readonly route: Route;
  readonly rawParams: Readonly<Record<string, string>>;
}

/**
 * The route for a method and raw path.
 *
 * @throws VendorApiError 404 when no route has the path, 405 (with `Allow`) when routes have it
 * but not for this method.
 */
export const matchRoute = (routes: readonly Route[], method: string, path: string): RouteMatch => {
  const matches = routes.flatMap((route) => {
    const rawParams = route.path.match(path);
    return rawParams === null ? [] : [{ route, rawParams }];
  });
  if (matches.length === 0) {
    throw new VendorApiError(404, ApiErrorCode.notFound, 'no such route; see the API reference');
  }
  const match = matches.find((candidate) => candidate.route.method === method.toUpperCase());
  if (match === undefined) {
    const allowed = [...new Set(matches.map((candidate) => candidate.route.method))].sort();
    throw new VendorApiError(
      405,
      ApiErrorCode.methodNotAllowed,
      `this route takes ${allowed.join(', ')} only`,
      { headers: { allow: allowed.join(', ') } },
    );
  }
  return match;
};

/**
 * The vendor API as one function of request to response, the same on every cloud. In order:
 * the body's size (413), the API key (401: the same answer for an unknown key id and a wrong
 * secret), the route (404, 405), the key's scope (403), a body sent to a route that takes none
 * (415, 400), then the route itself, which validates every input before it reads or writes
 * anything. Errors are answered in one JSON shape by `instanceof`; nothing internal reaches the
 * caller, and neither the key nor any body is logged.
 */
export const createVendorApiRouter = (deps: VendorApiDeps) => {
  const authenticate = createApiKeyAuthenticator(deps.apiKeys);
  return async (
    request: VendorApiRequest,
    options: { readonly requestId?: string } = {},
  ): Promise<VendorApiResponse> => {
    const startedAtEpochMs = deps.clock.now();
    const logger = deps.logger.child({ correlationId: options.requestId ?? deps.newId() });
    let caller: ApiCaller | undefined;
    let route: string | undefined;
    const done = (response: VendorApiResponse, error?: unknown): VendorApiResponse => {
      const fields = {
        method: request.method,
        route: route ?? null,
        status: response.status,
        keyId: caller?.keyId ?? null,
        durationMs: deps.clock.now() - startedAtEpochMs,
      };
      if (response.status >= 500) logger.error('request failed', { ...fields, error });
      else logger.info('request', fields);
      return response;
    };
    try {
      assertBodySize(request, deps.maxRequestBytes);
      caller = authenticate(request.headers.authorization);
      const match = matchRoute(VENDOR_API_ROUTES, request.method, request.path);
      route = `${match.route.method} ${match.route.path.template}`;
      requireScope(caller, match.route.scope);
      const params = decodePathParams(match.rawParams);
      if (!match.route.takesBody) assertNoBody(request);
      return done(await match.route.handle({ request, params, caller, deps, logger }));
    } catch (error) {
      return done(errorResponse(apiErrorOf(error)), error);
    }
  };
};

export type VendorApiRouter = ReturnType<typeof createVendorApiRouter>;
