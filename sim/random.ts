import { randomBytes } from 'node:crypto';

/**
 * A seeded source of ids and chances. The simulator draws every id and every fault from one of
 * these so that a run under a fixed seed is repeatable; without a seed it starts from entropy.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An RFC 4122 version-4 UUID made from this stream. */
  uuid(): string;
  /** `count` decimal digits, never starting with 0 (project numbers, message ids). */
  digits(count: number): string;
  /** `count` lowercase hex characters. */
  hex(count: number): string;
}

export type Seed = string | number;

// FNV-1a folds any seed into 32 bits; sfc32 then needs four words, so we fold it four times.
const fold = (text: string, salt: number): number => {
  let hash = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
};

/** A fresh seed from entropy, for runs that did not ask for one. */
export const randomSeed = (): string => randomBytes(8).toString('hex');

/** sfc32: small, fast and good enough for ids and fault dice; not for secrets. */
export const createRandom = (seed: Seed = randomSeed()): Random => {
  const text = String(seed);
  let a = fold(text, 1);
  let b = fold(text, 2);
  let c = fold(text, 3);
  let d = fold(text, 4);
  const word = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  // The first outputs of sfc32 still echo the seed; discard them.
  for (let i = 0; i < 12; i += 1) word();

  const next = (): number => word() / 0x1_0000_0000;
  const hex = (count: number): string => {
    let out = '';
    while (out.length < count) out += word().toString(16).padStart(8, '0');
    return out.slice(0, count);
  };
  const digits = (count: number): string => {
    let out = String(1 + Math.floor(next() * 9));
    while (out.length < count) out += String(Math.floor(next() * 10));
    return out;
  };
  const uuid = (): string => {
    const h = hex(32).split('');
    h[12] = '4';
    h[16] = '89ab'[parseInt(h[16] ?? '0', 16) & 3] ?? '8';
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  };
  return { next, uuid, digits, hex };
};
