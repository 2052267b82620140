import { VendorApiError } from './api-error';
import { decodePathParams, pathTemplate } from './route-path';
import { matchRoute, VENDOR_API_ROUTES } from './router';

const LICENSE_ARN = 'arn:aws:license-manager::123456789012:license/l-0123456789abcdef';
const VENDOR_LICENSE = `aws:${LICENSE_ARN}`;

const routeOf = (method: string, path: string) => {
  const { route, rawParams } = matchRoute(VENDOR_API_ROUTES, method, path);
  return [`${route.method} ${route.path.template}`, decodePathParams(rawParams)];
};

const refusal = (run: () => unknown): VendorApiError => {
  try {
    run();
  } catch (error) {
    if (error instanceof VendorApiError) return error;
    throw error;
  }
  throw new Error('expected a VendorApiError');
};

describe('path templates', () => {
  it('takes one segment for {name} and one or more for {name+}', () => {
    const one = pathTemplate('/v1/tenants/{tenantId}');
    expect(one.match('/v1/tenants/t-1')).toEqual({ tenantId: 't-1' });
    expect(one.match('/v1/tenants/t-1/more')).toBeNull();
    expect(one.match('/v1/tenants/')).toBeNull();
    const rest = pathTemplate('/v1/events/{id+}/replay');
    expect(rest.template).toBe('/v1/events/{id}/replay');
    expect(rest.match('/v1/events/a/b/replay')).toEqual({ id: 'a/b' });
    expect(rest.match('/v1/events/replay')).toBeNull();
    expect(rest.match('v1/events/a/replay')).toBeNull();
  });

  it('refuses a template that could match several ways', () => {
    expect(() => pathTemplate('/v1/{a+}/{b+}')).toThrow('at most one');
  });

  it('decodes parameters once, and refuses a broken percent-encoding', () => {
    expect(decodePathParams({ id: 'aws%3Aarn%2Fx', t: 'plain' })).toEqual({
      id: 'aws:arn/x',
      t: 'plain',
    });
    const error = refusal(() => decodePathParams({ id: 'bad%zz' }));
    expect([error.status, error.code, error.details]).toEqual([
      400,
      'invalid_request',
      [{ path: 'path.id', message: 'is not validly percent-encoded' }],
    ]);
  });
});

describe('vendor API routing', () => {
  it.each([
    ['GET', '/v1/entitlements', 'GET /v1/entitlements', {}],
    ['GET', '/v1/entitlements/gcp:ent-1', 'GET /v1/entitlements/{id}', { id: 'gcp:ent-1' }],
    // An AWS LicenseArn, raw (as API Gateway hands it over) or percent-encoded.
    [
      'GET',
      `/v1/entitlements/${VENDOR_LICENSE}`,
      'GET /v1/entitlements/{id}',
      { id: VENDOR_LICENSE },
    ],
    [
      'GET',
      `/v1/entitlements/${encodeURIComponent(VENDOR_LICENSE)}`,
      'GET /v1/entitlements/{id}',
      { id: VENDOR_LICENSE },
    ],
    ['GET', '/v1/tenants/t%201', 'GET /v1/tenants/{tenantId}', { tenantId: 't 1' }],
    [
      'POST',
      '/v1/tenants/t-1/accounts',
      'POST /v1/tenants/{tenantId}/accounts',
      { tenantId: 't-1' },
    ],
    [
      'DELETE',
      '/v1/tenants/t-1/accounts/aws:123456789012',
      'DELETE /v1/tenants/{tenantId}/accounts/{accountId}',
      { tenantId: 't-1', accountId: 'aws:123456789012' },
    ],
    ['GET', '/v1/events', 'GET /v1/events', {}],
    ['POST', '/v1/events/replay', 'POST /v1/events/replay', {}],
    [
      'POST',
      '/v1/events/gcp:pubsub:1:0/replay',
      'POST /v1/events/{id}/replay',
      { id: 'gcp:pubsub:1:0' },
    ],
    ['POST', '/v1/events/a/b/replay', 'POST /v1/events/{id}/replay', { id: 'a/b' }],
    ['GET', '/v1/events/gcp:pubsub:1:0', 'GET /v1/events/{id}', { id: 'gcp:pubsub:1:0' }],
    // Read, an event id ending in /replay is the event's; encoded, so is an id "replay".
    ['GET', '/v1/events/a/replay', 'GET /v1/events/{id}', { id: 'a/replay' }],
    ['GET', '/v1/events/replay', 'GET /v1/events/{id}', { id: 'replay' }],
    ['GET', '/v1/usage', 'GET /v1/usage', {}],
    ['POST', '/v1/usage', 'POST /v1/usage', {}],
    ['get', '/v1/usage', 'GET /v1/usage', {}],
  ])('routes %s %s to %s', (method, path, route, params) => {
    expect(routeOf(method, path)).toEqual([route, params]);
  });

  it.each([
    '/',
    '/v1',
    '/v1/',
    '/v2/entitlements',
    '/v1/entitlements/',
    '/v1/tenants/t-1/accounts/',
    '/v1/tenants/t-1/other',
    '/v1/unknown',
    '/V1/entitlements',
  ])('answers 404 for %s', (path) => {
    const error = refusal(() => matchRoute(VENDOR_API_ROUTES, 'GET', path));
    expect([error.status, error.code]).toEqual([404, 'not_found']);
  });

  it.each([
    ['DELETE', '/v1/entitlements', 'GET'],
    ['PUT', '/v1/usage', 'GET, POST'],
    ['GET', '/v1/tenants/t-1/accounts', 'POST'],
    ['HEAD', '/v1/entitlements/gcp:1', 'GET'],
  ])('answers 405 for %s %s, allowing %s', (method, path, allow) => {
    const error = refusal(() => matchRoute(VENDOR_API_ROUTES, method, path));
    expect([error.status, error.code, error.headers.allow]).toEqual([
      405,
      'method_not_allowed',
      allow,
    ]);
  });
});
