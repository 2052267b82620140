import type { JWTPayload } from 'jose';
import { createRemoteJWKSet, decodeProtectedHeader, importX509, jwtVerify } from 'jose';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import { SIGNUP_SERVICE_ACCOUNT } from './cert-routes';
import { SIGNUP_TOKEN_FORGERIES, SIGNUP_TOKEN_ISSUER } from './signup-tokens';

const DOMAIN = 'demo.example.com';

describe('signup JWTs and the certificates that verify them', () => {
  let sim: Simulator;
  const certsUrl = () => `${sim.url}/robot/v1/metadata/x509/${SIGNUP_SERVICE_ACCOUNT}`;

  beforeAll(async () => {
    sim = await createSimulator({ seed: 'signup', gcp: { productDomains: [DOMAIN] } });
  });
  afterAll(() => sim.stop());

  /**
   * What a vendor's signup endpoint should do, with jose: pick the certificate by `kid` from
   * the served map, accept RS256 only, and check issuer, audience, expiry and subject.
   */
  const verify = async (token: string): Promise<JWTPayload> => {
    const certificates = (await (await fetch(certsUrl())).json()) as Record<string, string>;
    const { kid } = decodeProtectedHeader(token);
    const pem = kid === undefined ? undefined : certificates[kid];
    if (!pem) throw new Error(`no certificate for kid ${kid}`);
    const key = await importX509(pem, 'RS256');
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['RS256'],
      issuer: SIGNUP_TOKEN_ISSUER,
      audience: DOMAIN,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    return payload;
  };

  it("serves the certificates in Google's x509 JSON format, cacheable", async () => {
    const response = await fetch(certsUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+/);
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body)).toEqual([sim.gcp.signupKey().kid]);
    expect(Object.values(body)[0]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    // The `@` may arrive percent-encoded.
    const encoded = await fetch(certsUrl().replace('@', '%40'));
    expect(await encoded.json()).toEqual(body);
  });

  it('mints a purchase token that verifies, with the claims Google sends', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const payload = await verify(bought.signupToken);
    expect(payload).toEqual({
      iss: SIGNUP_TOKEN_ISSUER,
      aud: DOMAIN,
      sub: bought.accountId,
      iat: expect.any(Number),
      exp: payload.iat! + 300,
      google: { roles: ['account_admin'], user_identity: expect.stringMatching(/^\d{21}$/) },
    });
    expect(decodeProtectedHeader(bought.signupToken)).toEqual({
      alg: 'RS256',
      kid: sim.gcp.signupKey().kid,
      typ: 'JWT',
    });
  });

  it('lists the orders once the account has several', async () => {
    const first = await sim.gcp.purchase({ plan: 'pro' });
    const second = await sim.gcp.purchase({ plan: 'max', accountId: first.accountId });
    const payload = await verify(second.signupToken);
    expect(payload.google).toEqual({
      roles: ['account_admin'],
      user_identity: ((await verify(first.signupToken)).google as { user_identity: string })
        .user_identity,
      orders: [first.orderId, second.orderId],
    });
  });

  it('verifies through the JWKS endpoint too', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const jwks = createRemoteJWKSet(
      new URL(`${sim.url}/robot/v1/metadata/jwk/${SIGNUP_SERVICE_ACCOUNT}`),
    );
    const { payload } = await jwtVerify(bought.signupToken, jwks, {
      issuer: SIGNUP_TOKEN_ISSUER,
      audience: DOMAIN,
    });
    expect(payload.sub).toBe(bought.accountId);
  });

  it('gives a fresh token when the buyer comes back ("Manage on provider")', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const response = await fetch(`${sim.url}/_sim/gcp/accounts/${bought.accountId}/signup-token`, {
      method: 'POST',
    });
    expect(response.status).toBe(200);
    const { accountId, signupToken } = (await response.json()) as {
      accountId: string;
      signupToken: string;
    };
    expect(accountId).toBe(bought.accountId);
    expect((await verify(signupToken)).sub).toBe(bought.accountId);

    const unknown = await fetch(`${sim.url}/_sim/gcp/accounts/nope/signup-token`, {
      method: 'POST',
    });
    expect(unknown.status).toBe(404);
  });

  // Each forgery fails for its own reason, not for some accident of the forging.
  const REFUSALS: Record<(typeof SIGNUP_TOKEN_FORGERIES)[number], RegExp> = {
    expired: /"exp" claim timestamp check failed/,
    'wrong-audience': /unexpected "aud" claim value/,
    'wrong-issuer': /unexpected "iss" claim value/,
    'missing-sub': /missing required "sub" claim/,
    'unknown-kid': /no certificate for kid f{40}/,
    tampered: /signature verification failed/,
    'alg-none': /"alg" \(Algorithm\) Header Parameter value not allowed/,
    'hs256-public-key': /"alg" \(Algorithm\) Header Parameter value not allowed/,
    'wrong-key': /signature verification failed/,
  };

  it.each(SIGNUP_TOKEN_FORGERIES)('refuses a forged token: %s', async (forgery) => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const forged = await sim.gcp.forgeSignupToken(forgery, bought.accountId);
    await expect(verify(forged)).rejects.toThrow(REFUSALS[forgery]);
  });

  it('mints variants through overrides', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const other = sim.gcp.signupToken(bought.accountId, { audience: 'other.example.com' });
    await expect(verify(other)).rejects.toThrow(/aud/);
    const stale = sim.gcp.signupToken(bought.accountId, {
      nowSeconds: Math.floor(Date.now() / 1000) - 301,
    });
    await expect(verify(stale)).rejects.toThrow(/exp/);
  });

  it('keeps serving the previous key after a rotation, so earlier tokens still verify', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const before = sim.gcp.signupKey().kid;
    await sim.gcp.rotateKeys();
    expect(sim.gcp.signupKey().kid).not.toBe(before);
    const served = (await (await fetch(certsUrl())).json()) as Record<string, string>;
    expect(Object.keys(served)).toEqual([sim.gcp.signupKey().kid, before]);
    expect((await verify(bought.signupToken)).sub).toBe(bought.accountId);
    const fresh = sim.gcp.signupToken(bought.accountId);
    expect(decodeProtectedHeader(fresh).kid).toBe(sim.gcp.signupKey().kid);
    expect((await verify(fresh)).sub).toBe(bought.accountId);
  });
});
