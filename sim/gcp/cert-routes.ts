import type { SimResponse, SimRoute } from '../http/types';
import type { KeyRing } from './signing-keys';

/**
 * Google's public key endpoints, at the same paths under the simulator's base URL as under
 * `https://www.googleapis.com`, so a function whose certs base URL is the simulator fetches
 * them unchanged:
 * - signup JWTs: `/robot/v1/metadata/x509/<account>` (PEM certificates by kid) and
 *   `/robot/v1/metadata/jwk/<account>` (JWKS);
 * - OIDC tokens (Pub/Sub push, Cloud Scheduler): `/oauth2/v1/certs` (PEM) and `/oauth2/v3/certs`
 *   (JWKS).
 */
export const SIGNUP_SERVICE_ACCOUNT = 'cloud-commerce-partner@system.gserviceaccount.com';
const CERTS_MAX_AGE_SECONDS = 3600;

const cacheable = (body: unknown, nowMs: () => number): SimResponse => ({
  status: 200,
  body,
  // Verifiers (google-auth-library, jose's remote JWK set) cache by these, as with Google.
  headers: {
    'cache-control': `public, max-age=${CERTS_MAX_AGE_SECONDS}, must-revalidate, no-transform`,
    expires: new Date(nowMs() + CERTS_MAX_AGE_SECONDS * 1000).toUTCString(),
  },
});

const pemByKid = (ring: KeyRing): Record<string, string> =>
  Object.fromEntries(ring.published().map((key) => [key.kid, key.certificatePem]));

const jwks = (ring: KeyRing): { keys: unknown[] } => ({
  keys: ring.published().map((key) => key.jwk),
});

export const certRoutes = (keys: {
  readonly signup: KeyRing;
  readonly oidc: KeyRing;
  readonly nowMs: () => number;
}): SimRoute[] => {
  // A client may or may not percent-encode the `@` of the account.
  const accountPaths = [SIGNUP_SERVICE_ACCOUNT, SIGNUP_SERVICE_ACCOUNT.replace('@', '%40')];
  return [
    ...accountPaths.flatMap((account): SimRoute[] => [
      {
        method: 'GET',
        pattern: `/robot/v1/metadata/x509/${account}`,
        handle: () => cacheable(pemByKid(keys.signup), keys.nowMs),
      },
      {
        method: 'GET',
        pattern: `/robot/v1/metadata/jwk/${account}`,
        handle: () => cacheable(jwks(keys.signup), keys.nowMs),
      },
    ]),
    {
      method: 'GET',
      pattern: '/oauth2/v1/certs',
      handle: () => cacheable(pemByKid(keys.oidc), keys.nowMs),
    },
    {
      method: 'GET',
      pattern: '/oauth2/v3/certs',
      handle: () => cacheable(jwks(keys.oidc), keys.nowMs),
    },
  ];
};
