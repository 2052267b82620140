import type { KeyObject } from 'node:crypto';
import { createHash, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { Random } from '../random';
import { createSelfSignedCertificate } from './self-signed-certificate';

const generateRsaKeyPair = promisify(generateKeyPair);

/** One RSA signing key as Google publishes it: a `kid`, an X.509 certificate and a JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certificatePem: string;
  readonly jwk: { kty: 'RSA'; alg: 'RS256'; use: 'sig'; kid: string; n: string; e: string };
}

export interface CreateSigningKeyInput {
  /** Subject and issuer CN of the certificate. */
  readonly commonName: string;
  readonly random: Random;
  readonly nowMs: number;
}

const DAY_MS = 86_400_000;

/** A fresh 2048-bit RSA key; its `kid` is the SHA-1 of its public key, 40 hex digits as Google's. */
export const createSigningKey = async (input: CreateSigningKeyInput): Promise<SigningKey> => {
  const { privateKey, publicKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const kid = createHash('sha1').update(spki).digest('hex');
  const certificatePem = createSelfSignedCertificate({
    privateKey,
    publicKey,
    commonName: input.commonName,
    serial: Buffer.from(input.random.hex(16), 'hex'),
    // Backdated a little so a verifier whose clock runs behind still accepts it.
    notBefore: new Date(input.nowMs - DAY_MS),
    notAfter: new Date(input.nowMs + 365 * DAY_MS),
  });
  const { n, e } = publicKey.export({ format: 'jwk' });
  return {
    kid,
    privateKey,
    publicKey,
    certificatePem,
    jwk: { kty: 'RSA', alg: 'RS256', use: 'sig', kid, n: n ?? '', e: e ?? '' },
  };
};

/**
 * The keys behind one Google certificate endpoint. Google serves the current key and the one
 * before it, so a token signed just before a rotation still verifies; so does the simulator.
 */
export interface KeyRing {
  current(): SigningKey;
  /** What the endpoint serves, newest first. */
  published(): readonly SigningKey[];
  rotate(): Promise<SigningKey>;
}

export const createKeyRing = async (input: CreateSigningKeyInput): Promise<KeyRing> => {
  let keys: SigningKey[] = [await createSigningKey(input)];
  return {
    current: () => keys[0]!,
    published: () => keys,
    rotate: async () => {
      const next = await createSigningKey(input);
      keys = [next, keys[0]!];
      return next;
    },
  };
};
