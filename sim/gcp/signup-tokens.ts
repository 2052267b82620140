import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { JwtClaims } from './jwt';
import { decodeJwt, signJwt, withoutUndefined } from './jwt';
import type { SigningKey } from './signing-keys';

/**
 * The signup JWT Google posts to the vendor's signup URL (form field `x-gcp-marketplace-token`)
 * when a buyer clicks "Register with <vendor>" or "Manage on provider". The simulator and the
 * tests mint them here, so a test can make exactly the variant it needs.
 */

/** Always Google's real URL, whoever signs: the vendor must check `iss` against it. */
export const SIGNUP_TOKEN_ISSUER =
  'https://www.googleapis.com/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com';
export const SIGNUP_TOKEN_TTL_SECONDS = 300;
export const SIGNUP_FORM_FIELD = 'x-gcp-marketplace-token';

export interface SignupTokenOptions {
  readonly key: SigningKey;
  /** `sub`: the Procurement account id. */
  readonly accountId: string;
  /** `aud`: the product domain. */
  readonly audience: string;
  /** `google.user_identity`, the buyer's obfuscated Google id. */
  readonly userIdentity?: string;
  /** `google.orders`: set only when the account has several orders. */
  readonly orders?: readonly string[];
  readonly roles?: readonly string[];
  readonly nowSeconds?: number;
  readonly ttlSeconds?: number;
  /** Header fields replaced after the defaults; `undefined` removes one. */
  readonly header?: JwtClaims;
  /** Claims replaced after the defaults; `undefined` removes one (`{ sub: undefined }`). */
  readonly claims?: JwtClaims;
}

const nowInSeconds = (): number => Math.floor(Date.now() / 1000);

/** A signup token as Google makes it: RS256 with the key's `kid`, valid for five minutes. */
export const mintSignupToken = (options: SignupTokenOptions): string => {
  const iat = options.nowSeconds ?? nowInSeconds();
  const google = withoutUndefined({
    roles: [...(options.roles ?? ['account_admin'])],
    user_identity: options.userIdentity ?? '100000000000000000001',
    orders: options.orders && options.orders.length > 1 ? [...options.orders] : undefined,
  });
  const header = { alg: 'RS256', kid: options.key.kid, typ: 'JWT', ...options.header };
  const payload = {
    iss: SIGNUP_TOKEN_ISSUER,
    iat,
    exp: iat + (options.ttlSeconds ?? SIGNUP_TOKEN_TTL_SECONDS),
    aud: options.audience,
    sub: options.accountId,
    google,
    ...options.claims,
  };
  return signJwt(header, payload, { alg: 'RS256', privateKey: options.key.privateKey });
};

/** The ways a signup token can be wrong; a vendor's signup endpoint must refuse each one. */
export const SIGNUP_TOKEN_FORGERIES = [
  'expired',
  'wrong-audience',
  'wrong-issuer',
  'missing-sub',
  'unknown-kid',
  'tampered',
  'alg-none',
  'hs256-public-key',
  'wrong-key',
] as const;
export type SignupTokenForgery = (typeof SIGNUP_TOKEN_FORGERIES)[number];

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * A token that looks like `mintSignupToken(options)` but must be refused:
 * - `expired`: issued an hour ago, so `exp` passed 55 minutes ago;
 * - `wrong-audience`, `wrong-issuer`, `missing-sub`: one claim is off;
 * - `unknown-kid`: a `kid` the certificate endpoint does not serve;
 * - `tampered`: a genuine signature over a body whose `sub` was changed afterwards;
 * - `alg-none`: unsigned;
 * - `hs256-public-key`: HMAC-signed with the served certificate PEM as the secret, the
 *   algorithm-confusion attack on verifiers that take the algorithm from the token;
 * - `wrong-key`: RS256 with the right `kid` but another key.
 */
export const forgeSignupToken = async (
  forgery: SignupTokenForgery,
  options: SignupTokenOptions,
): Promise<string> => {
  const claims = (extra: JwtClaims): string =>
    mintSignupToken({ ...options, claims: { ...options.claims, ...extra } });
  switch (forgery) {
    case 'expired':
      return mintSignupToken({
        ...options,
        nowSeconds: (options.nowSeconds ?? nowInSeconds()) - 3600,
      });
    case 'wrong-audience':
      return claims({ aud: 'not-your-product.example.com' });
    case 'wrong-issuer':
      return claims({ iss: 'https://attacker.example.com/robot/v1/metadata/x509/forged' });
    case 'missing-sub':
      return claims({ sub: undefined });
    case 'unknown-kid':
      return mintSignupToken({ ...options, header: { ...options.header, kid: 'f'.repeat(40) } });
    case 'tampered': {
      const genuine = mintSignupToken(options);
      const [header, , signature] = genuine.split('.');
      const { payload } = decodeJwt(genuine);
      const body = Buffer.from(
        JSON.stringify({ ...payload, sub: `${options.accountId}-tampered` }),
      ).toString('base64url');
      return `${header}.${body}.${signature}`;
    }
    case 'alg-none': {
      const { header, payload } = decodeJwt(mintSignupToken(options));
      return signJwt({ ...header, alg: 'none' }, payload, { alg: 'none' });
    }
    case 'hs256-public-key': {
      const { header, payload } = decodeJwt(mintSignupToken(options));
      return signJwt({ ...header, alg: 'HS256' }, payload, {
        alg: 'HS256',
        secret: options.key.certificatePem,
      });
    }
    case 'wrong-key': {
      const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
      const { header, payload } = decodeJwt(mintSignupToken(options));
      return signJwt(header, payload, { alg: 'RS256', privateKey });
    }
  }
};
