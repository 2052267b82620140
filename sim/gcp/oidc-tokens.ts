import type { JwtClaims } from './jwt';
import { signJwt } from './jwt';
import type { SigningKey } from './signing-keys';

/**
 * Google-signed OIDC ID tokens, as Pub/Sub puts on a push (`Authorization: Bearer`) and Cloud
 * Scheduler on an HTTP target. Verified against `/oauth2/v1/certs` (PEM) or `/oauth2/v3/certs`
 * (JWKS) under the Google certs base URL.
 */
export const OIDC_ISSUER = 'https://accounts.google.com';
export const OIDC_TOKEN_TTL_SECONDS = 3600;

export interface OidcTokenOptions {
  readonly key: SigningKey;
  /** `aud`: the push endpoint URL unless the subscription names another audience. */
  readonly audience: string;
  /** `email`: the service account the subscription pushes as. */
  readonly email: string;
  /** `sub` and `azp`: the service account's numeric unique id. */
  readonly subject: string;
  readonly nowSeconds?: number;
  readonly ttlSeconds?: number;
  readonly header?: JwtClaims;
  readonly claims?: JwtClaims;
}

export const mintOidcToken = (options: OidcTokenOptions): string => {
  const iat = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  return signJwt(
    { alg: 'RS256', kid: options.key.kid, typ: 'JWT', ...options.header },
    {
      aud: options.audience,
      azp: options.subject,
      email: options.email,
      email_verified: true,
      exp: iat + (options.ttlSeconds ?? OIDC_TOKEN_TTL_SECONDS),
      iat,
      iss: OIDC_ISSUER,
      sub: options.subject,
      ...options.claims,
    },
    { alg: 'RS256', privateKey: options.key.privateKey },
  );
};
