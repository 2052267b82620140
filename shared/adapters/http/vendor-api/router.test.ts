import { loadVendorApiConfig } from '../../../config/vendor-config';
import { StoreUnavailableError } from '../../../domain/errors';
import type { Store } from '../../../ports/store';
import { createJsonLogger } from '../../logging/json-logger';
import { newApiKey } from './api-key';
import type { VendorApiRequest } from './http-exchange';
import { createVendorApiRouter } from './router';

const reader = newApiKey('reader', ['read']);
const admin = newApiKey('ops', ['admin']);
const meter = newApiKey('meter', ['usage:write']);
const MAX_BYTES = 4_096;
const config = loadVendorApiConfig({
  TABLE_NAME: 't',
  VENDOR_API_KEYS: [reader.entry, admin.entry, meter.entry].join(','),
  MAX_REQUEST_BYTES: String(MAX_BYTES),
});

/** A store that records every call and fails the test's way: the router must not reach it. */
const storeThat = (answer: (method: string) => unknown) => {
  const calls: string[] = [];
  const store = new Proxy({} as Store, {
    get: (_target, method: string) => async () => {
      calls.push(method);
      return answer(method);
    },
  });
  return { store, calls };
};

const untouched = () =>
  storeThat((method) => {
    throw new Error(`the store was called: ${method}`);
  });

const routerWith = (store: Store) => {
  const lines: string[] = [];
  const route = createVendorApiRouter({
    store,
    clock: { now: () => 0 },
    logger: createJsonLogger({ level: 'debug', write: (line) => lines.push(line) }),
    apiKeys: config.apiKeys,
    maxRequestBytes: config.maxRequestBytes,
    eventTtlSeconds: 60,
    usage: config.usage,
    newId: () => 'id-1',
  });
  return { route, lines };
};

const request = (overrides: Partial<VendorApiRequest> = {}): VendorApiRequest => ({
  method: 'GET',
  path: '/v1/entitlements',
  query: { status: ['active'] },
  headers: { authorization: `Bearer ${reader.key}` },
  body: Buffer.alloc(0),
  ...overrides,
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  request({
    method: 'POST',
    path,
    query: {},
    headers: {
      authorization: `Bearer ${admin.key}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: Buffer.from(body),
  });

const errorOf = (body: string) => (JSON.parse(body) as { error: Record<string, unknown> }).error;

describe('vendor API router', () => {
  it.each([
    [
      'a body over the limit',
      request({ body: Buffer.alloc(MAX_BYTES + 1), headers: {} }),
      413,
      'payload_too_large',
    ],
    [
      'a declared length over the limit',
      request({ headers: { 'content-length': String(MAX_BYTES + 1) } }),
      413,
      'payload_too_large',
    ],
    ['no key', request({ headers: {} }), 401, 'unauthorized'],
    [
      'no key, on an unknown route',
      request({ headers: {}, path: '/v1/nope' }),
      401,
      'unauthorized',
    ],
    ['an unknown route', request({ path: '/v1/nope' }), 404, 'not_found'],
    ['a method the route does not take', request({ method: 'PUT' }), 405, 'method_not_allowed'],
    [
      'a scope the key lacks',
      request({ headers: { authorization: `Bearer ${admin.key}` } }),
      403,
      'forbidden',
    ],
    ['no filter', request({ query: {} }), 400, 'invalid_request'],
    [
      'two filters',
      request({ query: { status: ['active'], tenantId: ['t'] } }),
      400,
      'invalid_request',
    ],
    [
      'a repeated parameter',
      request({ query: { status: ['active', 'suspended'] } }),
      400,
      'invalid_request',
    ],
    [
      'an unknown parameter',
      request({ query: { status: ['active'], colour: ['red'] } }),
      400,
      'invalid_request',
    ],
    [
      'a limit of 0',
      request({ query: { status: ['active'], limit: ['0'] } }),
      400,
      'invalid_request',
    ],
    [
      'a limit of 101',
      request({ query: { status: ['active'], limit: ['101'] } }),
      400,
      'invalid_request',
    ],
    ['an unknown status', request({ query: { status: ['gone'] } }), 400, 'invalid_request'],
    [
      'an id that is no vendor id',
      request({ path: '/v1/entitlements/ent-1', query: {} }),
      400,
      'invalid_request',
    ],
    [
      'a broken percent-encoding',
      request({ path: '/v1/entitlements/gcp:%zz', query: {} }),
      400,
      'invalid_request',
    ],
    [
      'text instead of JSON',
      post('/v1/tenants/t/accounts', '{}', { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    ],
    [
      'no content type',
      post('/v1/tenants/t/accounts', '{}', { 'content-type': '' }),
      415,
      'unsupported_media_type',
    ],
    [
      'a charset other than UTF-8',
      post('/v1/tenants/t/accounts', '{}', {
        'content-type': 'application/json; charset=iso-8859-1',
      }),
      415,
      'unsupported_media_type',
    ],
    [
      'a compressed body',
      post('/v1/tenants/t/accounts', '{}', { 'content-encoding': 'gzip' }),
      415,
      'unsupported_media_type',
    ],
    ['malformed JSON', post('/v1/tenants/t/accounts', '{"accountId":'), 400, 'invalid_json'],
    [
      'bytes that are not UTF-8',
      { ...post('/v1/tenants/t/accounts', ''), body: Buffer.from([0x7b, 0xff, 0x7d]) },
      400,
      'invalid_json',
    ],
    ['an empty body where JSON is due', post('/v1/tenants/t/accounts', ''), 400, 'invalid_json'],
    ['a missing field', post('/v1/tenants/t/accounts', '{}'), 400, 'invalid_request'],
    [
      'an unknown field',
      post('/v1/tenants/t/accounts', '{"accountId":"gcp:a","x":1}'),
      400,
      'invalid_request',
    ],
    [
      'a tenant id with a slash',
      post('/v1/tenants/a%2Fb/accounts', '{"accountId":"gcp:a"}'),
      400,
      'invalid_request',
    ],
    [
      'a body on a route that takes none',
      post('/v1/events/e-1/replay', '{"all":true}'),
      400,
      'invalid_request',
    ],
    [
      'a replay range backwards',
      post('/v1/events/replay', '{"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}'),
      400,
      'invalid_request',
    ],
    [
      'usage from a read-only key',
      post('/v1/usage', '{"records":[{}]}', { authorization: `Bearer ${reader.key}` }),
      403,
      'forbidden',
    ],
    [
      'no usage records',
      post('/v1/usage', '{"records":[]}', { authorization: `Bearer ${meter.key}` }),
      400,
      'invalid_request',
    ],
    [
      '1,001 usage records',
      post('/v1/usage', JSON.stringify({ records: new Array(1_001).fill(0) }), {
        authorization: `Bearer ${meter.key}`,
      }),
      400,
      'invalid_request',
    ],
    [
      'usage records that are no list',
      post('/v1/usage', '{"records":{}}', { authorization: `Bearer ${meter.key}` }),
      400,
      'invalid_request',
    ],
  ])('refuses %s without touching the store', async (_case, input, status, code) => {
    const { store, calls } = untouched();
    const { route } = routerWith(store);
    const response = await route(input);
    expect([response.status, errorOf(response.body).code]).toEqual([status, code]);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(calls).toEqual([]);
  });

  it('names where each problem is', async () => {
    const { route } = routerWith(untouched().store);
    const response = await route(
      request({ query: { status: ['active'], limit: ['0'], colour: ['red'] } }),
    );
    expect(errorOf(response.body).details).toEqual([
      { path: 'query.limit', message: 'must be from 1 to 100' },
      { path: 'query.colour', message: 'is not a parameter of this request' },
    ]);
  });

  it('tells a missing key from a bad one, and sends the Bearer challenge with both', async () => {
    const { route } = routerWith(untouched().store);
    const missing = await route(request({ headers: {} }));
    const bad = await route(request({ headers: { authorization: 'Bearer mck_x_y' } }));
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(bad.headers['www-authenticate']).toMatch(/^Bearer .*invalid_token/);
  });

  it('allows the route methods on 405', async () => {
    const { route } = routerWith(untouched().store);
    const response = await route(request({ method: 'PATCH', path: '/v1/usage', query: {} }));
    expect(response.headers.allow).toBe('GET, POST');
  });

  it('answers 503 with Retry-After when the store is briefly unavailable', async () => {
    const { store } = storeThat(() => {
      throw new StoreUnavailableError('DynamoDB throttled: ProvisionedThroughputExceeded');
    });
    const response = await routerWith(store).route(request());
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(errorOf(response.body)).toEqual({
      code: 'unavailable',
      message: 'the service is briefly unavailable; retry the request',
    });
  });

  it('answers 500 without a word of what failed inside', async () => {
    const { store } = storeThat(() => {
      throw new TypeError('Cannot read properties of undefined (reading "Items") at items.ts:42');
    });
    const { route, lines } = routerWith(store);
    const response = await route(request());
    expect(response.status).toBe(500);
    expect(response.body).toBe(
      '{"error":{"code":"internal","message":"the request failed on our side"}}',
    );
    // The log keeps the cause for the operator.
    expect(lines.join('\n')).toContain('Cannot read properties');
  });

  it('serves a listing, and logs the key id, never the key or a body', async () => {
    const { store } = storeThat(() => ({ items: [], nextCursor: null }));
    const { route, lines } = routerWith(store);
    const response = await route(request({ query: { status: ['active'], limit: ['7'] } }));
    expect([response.status, JSON.parse(response.body)]).toEqual([
      200,
      { items: [], nextCursor: null },
    ]);
    const secretBody = '{"accountId":"gcp:secret-account-body"}';
    await route(
      post('/v1/tenants/t/accounts', secretBody, { authorization: `Bearer ${reader.key}` }),
    );
    const log = lines.join('\n');
    expect(log).toContain('"keyId":"reader"');
    expect(log).toContain('"route":"GET /v1/entitlements"');
    expect(log).not.toContain(reader.key);
    expect(log).not.toContain(reader.key.slice(-20));
    expect(log).not.toContain('secret-account-body');
  });
});
