import { createRouter } from './router';
import type { SimRoute } from './types';

const route = (method: SimRoute['method'], pattern: string): SimRoute => ({
  method,
  pattern,
  handle: () => ({ status: 200 }),
});

describe('createRouter', () => {
  const approve = route('POST', '/v1/providers/{provider}/entitlements/{id}:approve');
  const get = route('GET', '/v1/providers/{provider}/entitlements/{id}');
  const router = createRouter([approve, get]);

  it("splits Google's custom-method suffix from the last parameter", () => {
    expect(router.match('POST', '/v1/providers/DEMO-x/entitlements/abc-1:approve')).toEqual({
      route: approve,
      params: { provider: 'DEMO-x', id: 'abc-1' },
    });
    expect(router.match('GET', '/v1/providers/DEMO-x/entitlements/abc-1')).toMatchObject({
      route: get,
    });
  });

  it('decodes parameters', () => {
    expect(router.match('GET', '/v1/providers/a%20b/entitlements/x')).toMatchObject({
      params: { provider: 'a b', id: 'x' },
    });
  });

  it('tells an unknown path from a known path with another method', () => {
    expect(router.match('GET', '/v1/elsewhere')).toBeUndefined();
    expect(router.match('DELETE', '/v1/providers/p/entitlements/x')).toBe('methodNotAllowed');
    expect(router.match('GET', '/v1/providers/p/entitlements/x:reject')).toBeUndefined();
  });
});
