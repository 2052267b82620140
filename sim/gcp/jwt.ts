import type { KeyObject } from 'node:crypto';
import { createHmac, sign } from 'node:crypto';

/**
 * Compact JWS signing, by hand rather than through `jose`, because the tests need tokens no
 * honest library will make: `alg: none`, HS256 keyed with a public certificate, tampered bodies.
 */
export type JwtClaims = Readonly<Record<string, unknown>>;

export type JwtSigner =
  | { readonly alg: 'RS256'; readonly privateKey: KeyObject }
  | { readonly alg: 'HS256'; readonly secret: string | Buffer }
  | { readonly alg: 'none' };

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Drops keys whose value is `undefined`: that is how an override removes a claim. */
export const withoutUndefined = (record: JwtClaims): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));

export const signJwt = (header: JwtClaims, payload: JwtClaims, signer: JwtSigner): string => {
  const input = `${encode(withoutUndefined(header))}.${encode(withoutUndefined(payload))}`;
  switch (signer.alg) {
    case 'RS256':
      return `${input}.${sign('sha256', Buffer.from(input), signer.privateKey).toString('base64url')}`;
    case 'HS256':
      return `${input}.${createHmac('sha256', signer.secret).update(input).digest('base64url')}`;
    case 'none':
      return `${input}.`;
  }
};

/** The header and payload of a compact JWT, unverified: for tests and forgeries only. */
export const decodeJwt = (token: string): { header: JwtClaims; payload: JwtClaims } => {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as JwtClaims,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JwtClaims,
  };
};
