import { createRemoteJWKSet, errors as joseErrors, importX509, jwtVerify } from 'jose';
import type { JWTPayload, KeyLike } from 'jose';
import { UnauthorizedError } from '../../domain/errors';
import type { Clock } from '../../ports/clock';

/** The only issuer of signup tokens, whatever host the certificates are fetched from. */
export const SIGNUP_TOKEN_ISSUER =
  'https://www.googleapis.com/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com';
const SIGNUP_CERTS_PATH =
  '/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com';
const OIDC_JWKS_PATH = '/oauth2/v3/certs';
const OIDC_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const CLOCK_SKEW_SECONDS = 60;
/** A certificate set is fetched again at most this often for an unknown `kid` (rotation). */
const REFRESH_FOR_UNKNOWN_KID_MS = 60_000;
const DEFAULT_MAX_AGE_MS = 60 * 60 * 1000;

const trimSlash = (url: string) => url.replace(/\/+$/, '');

const unauthorized = (message: string, cause?: unknown): UnauthorizedError =>
  new UnauthorizedError(message, cause === undefined ? {} : { cause });

/** Maps jose's failures to one error whose message is safe to log, never to show. */
const verified = async <T>(what: string, verify: () => Promise<T>): Promise<T> => {
  try {
    return await verify();
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    const code = error instanceof joseErrors.JOSEError ? error.code : 'ERR_UNKNOWN';
    throw unauthorized(`${what} rejected (${code})`, error);
  }
};

export interface SignupClaims {
  /** The procurement account id. */
  readonly accountId: string;
  /** Google's obfuscated id of the user who signed up: personal data. */
  readonly userIdentity: string | null;
  readonly roles: readonly string[];
  readonly orders: readonly string[];
  readonly issuedAtEpochMs: number;
}

const maxAgeMs = (cacheControl: string | null): number => {
  const match = /max-age=(\d+)/.exec(cacheControl ?? '');
  return match ? Number(match[1]) * 1000 : DEFAULT_MAX_AGE_MS;
};

/**
 * Verifies the JWT Google posts to the signup URL as `x-gcp-marketplace-token`, exactly:
 * RS256 only; the key is the certificate named by `kid` from Google's fixed URL (the base is
 * configurable for the simulator; the token's own `iss` is never fetched); `iss` is that URL;
 * `aud` one of the product domains; `exp` and `iat` within 60 s of now; `sub` non-empty.
 * Certificates are cached as long as Google's Cache-Control allows.
 */
export const createSignupTokenVerifier = (options: {
  readonly certsBaseUrl: string;
  readonly audiences: readonly string[];
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
}) => {
  const doFetch = options.fetch ?? fetch;
  const certsUrl = `${trimSlash(options.certsBaseUrl)}${SIGNUP_CERTS_PATH}`;
  let cache: { keys: Map<string, KeyLike>; fetchedAtMs: number; expiresAtMs: number } | undefined;

  const loadCertificates = async () => {
    const response = await doFetch(certsUrl);
    if (!response.ok) throw new Error(`certificates answered HTTP ${response.status}`);
    const pems = (await response.json()) as Record<string, string>;
    const keys = new Map<string, KeyLike>();
    for (const [kid, pem] of Object.entries(pems)) keys.set(kid, await importX509(pem, 'RS256'));
    const now = options.clock.now();
    cache = {
      keys,
      fetchedAtMs: now,
      expiresAtMs: now + maxAgeMs(response.headers.get('cache-control')),
    };
    return cache;
  };

  const keyFor = async (kid: string | undefined): Promise<KeyLike> => {
    if (!kid) throw unauthorized('signup token has no kid');
    const now = options.clock.now();
    let current = cache && cache.expiresAtMs > now ? cache : await loadCertificates();
    if (!current.keys.has(kid) && now - current.fetchedAtMs > REFRESH_FOR_UNKNOWN_KID_MS) {
      current = await loadCertificates();
    }
    const key = current.keys.get(kid);
    if (!key) throw unauthorized('signup token names an unknown key');
    return key;
  };

  return async (token: string): Promise<SignupClaims> =>
    verified('signup token', async () => {
      const nowSeconds = Math.floor(options.clock.now() / 1000);
      const { payload } = await jwtVerify(token, (header) => keyFor(header.kid), {
        algorithms: ['RS256'],
        issuer: SIGNUP_TOKEN_ISSUER,
        audience: [...options.audiences],
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: new Date(options.clock.now()),
      });
      if (typeof payload.iat !== 'number' || payload.iat > nowSeconds + CLOCK_SKEW_SECONDS) {
        throw unauthorized('signup token was issued in the future');
      }
      if (typeof payload.sub !== 'string' || payload.sub.trim() === '') {
        throw unauthorized('signup token has no subject');
      }
      return claimsOf(payload);
    });
};

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

const claimsOf = (payload: JWTPayload): SignupClaims => {
  const google = (payload.google ?? {}) as Record<string, unknown>;
  return {
    accountId: payload.sub!,
    userIdentity: typeof google.user_identity === 'string' ? google.user_identity : null,
    roles: strings(google.roles),
    orders: strings(google.orders),
    issuedAtEpochMs: (payload.iat ?? 0) * 1000,
  };
};

/**
 * Verifies the OIDC token Google attaches to a request it makes for us (a Pub/Sub push, a
 * Cloud Scheduler job): signed by Google, for `audience`, as the expected service account,
 * whose email Google verified.
 */
export const createOidcVerifier = (options: {
  readonly certsBaseUrl: string;
  readonly audience: string;
  readonly serviceAccountEmail: string;
  readonly clock: Clock;
}) => {
  const jwks = createRemoteJWKSet(new URL(`${trimSlash(options.certsBaseUrl)}${OIDC_JWKS_PATH}`));
  return async (authorization: string | undefined): Promise<void> =>
    verified('OIDC token', async () => {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      if (!token) throw unauthorized('no bearer token');
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: ['RS256'],
        issuer: OIDC_ISSUERS,
        audience: options.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'iat'],
        currentDate: new Date(options.clock.now()),
      });
      if (payload.email !== options.serviceAccountEmail || payload.email_verified !== true) {
        throw unauthorized('OIDC token is not from the expected service account');
      }
    });
};
