import { createHash } from 'node:crypto';
import { loadVendorApiConfig } from '../../../config/vendor-config';
import type { ApiKeyEntry } from '../../../config/vendor-config';
import { VendorApiError } from './api-error';
import {
  apiKeyEntryText,
  createApiKeyAuthenticator,
  hashApiKey,
  keyIdOf,
  newApiKey,
  requireScope,
} from './api-key';

const fixedRandom = (byte: number) => (bytes: number) => Buffer.alloc(bytes, byte);

/** The entries a deployment would read from `VENDOR_API_KEYS`. */
const entriesOf = (...entries: string[]): readonly ApiKeyEntry[] =>
  loadVendorApiConfig({ TABLE_NAME: 't', VENDOR_API_KEYS: entries.join(',') }).apiKeys;

const refusal = (run: () => unknown): VendorApiError => {
  try {
    run();
  } catch (error) {
    if (error instanceof VendorApiError) return error;
    throw error;
  }
  throw new Error('expected a VendorApiError');
};

describe('API keys', () => {
  const billing = newApiKey('billing', ['read', 'usage:write']);
  const ops = newApiKey('ops', ['admin']);
  const authenticate = createApiKeyAuthenticator(entriesOf(billing.entry, ops.entry));

  it('makes mck_<id>_<43 base64url characters> and an entry holding only its SHA-256', () => {
    const made = newApiKey('billing', ['read', 'usage:write'], fixedRandom(0xfb));
    expect(made.key).toBe(`mck_billing_${Buffer.alloc(32, 0xfb).toString('base64url')}`);
    expect(made.key).toMatch(/^mck_billing_[A-Za-z0-9_-]{43}$/);
    const hash = createHash('sha256').update(made.key).digest('hex');
    expect(made.entry).toBe(`billing:read+usage:write:${hash}`);
    expect(made.entry).not.toContain(made.key.slice(12));
    expect(apiKeyEntryText('billing', ['read', 'usage:write'], made.key)).toBe(made.entry);
    expect(hashApiKey(made.key).toString('hex')).toBe(hash);
  });

  it('makes a different secret each time', () => {
    expect(newApiKey('a', ['read']).key).not.toBe(newApiKey('a', ['read']).key);
  });

  it.each([
    ['an id with an underscore', 'bill_ing', ['read']],
    ['an empty id', '', ['read']],
    ['no scope', 'billing', []],
    ['a repeated scope', 'billing', ['read', 'read']],
    ['an unknown scope', 'billing', ['write']],
  ])('refuses to make a key with %s', (_case, id, scopes) => {
    expect(() => newApiKey(id as string, scopes as never)).toThrow(RangeError);
  });

  it('finds the key id even where the secret holds underscores', () => {
    const key = newApiKey('svc.eu-1', ['read'], fixedRandom(0xff)).key;
    expect(key.slice('mck_svc.eu-1_'.length)).toContain('_');
    expect(keyIdOf(key)).toBe('svc.eu-1');
    expect(keyIdOf('mck_billing_short')).toBeNull();
    expect(keyIdOf(`xyz_billing_${'a'.repeat(43)}`)).toBeNull();
    expect(keyIdOf('mck_billing')).toBeNull();
  });

  it('lets a configured key in with its id and scopes', () => {
    expect(authenticate(`Bearer ${billing.key}`)).toEqual({
      keyId: 'billing',
      scopes: new Set(['read', 'usage:write']),
    });
    // The scheme is case-insensitive (RFC 7235).
    expect(authenticate(`bearer ${ops.key}`).keyId).toBe('ops');
  });

  it('asks for a key when none is sent', () => {
    for (const header of [undefined, '', '  ']) {
      const error = refusal(() => authenticate(header));
      expect([error.status, error.code]).toEqual([401, 'unauthorized']);
      expect(error.headers['www-authenticate']).toMatch(/^Bearer /);
    }
  });

  it('answers an unknown key id, a wrong secret and a malformed header alike', () => {
    const secret = billing.key.slice('mck_billing_'.length);
    const wrongSecret = `mck_billing_${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const unknownId = `mck_stranger_${secret}`;
    const answers = [
      `Bearer ${wrongSecret}`,
      `Bearer ${unknownId}`,
      `Basic ${Buffer.from(`x:${billing.key}`).toString('base64')}`,
      billing.key,
      `Bearer ${billing.key} extra`,
      `Bearer mck_billing_${secret}x`,
      `Bearer ${'a'.repeat(300)}`,
    ].map((header) => {
      const error = refusal(() => authenticate(header));
      return [error.status, error.code, error.message, error.headers];
    });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]![0]).toBe(401);
  });

  it('checks the hash of the whole key, so another id with the same secret is refused', () => {
    const secret = billing.key.slice('mck_billing_'.length);
    expect(() => authenticate(`Bearer mck_ops_${secret}`)).toThrow(VendorApiError);
  });

  it('refuses a scope the key lacks with 403, each scope on its own', () => {
    const admin = authenticate(`Bearer ${ops.key}`);
    expect(() => requireScope(admin, 'admin')).not.toThrow();
    const error = refusal(() => requireScope(admin, 'read'));
    expect([error.status, error.code]).toEqual([403, 'forbidden']);
    expect(error.headers['www-authenticate']).toContain('insufficient_scope');
    const reader = authenticate(`Bearer ${billing.key}`);
    expect(refusal(() => requireScope(reader, 'admin')).status).toBe(403);
  });
});
