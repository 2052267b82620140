import { createHash } from 'node:crypto';
import { ConfigError } from '../domain/errors';
import { loadVendorApiConfig } from './vendor-config';

const KEY = 'mck_billing_3q2VfQz1mZb8w1yX0aLQk7Hc2tN5pR9sU4vW6xY8zA0';
const HASH = createHash('sha256').update(KEY).digest('hex');
const OTHER_HASH = createHash('sha256').update('another key').digest('hex');

const BASE = { TABLE_NAME: 'mc', VENDOR_API_KEYS: `billing:read+usage:write:${HASH}` };

const problemsOf = (load: () => unknown) => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('vendor API configuration', () => {
  it('reads the keys, the body limit and what usage it takes', () => {
    const config = loadVendorApiConfig(
      {
        ...BASE,
        VENDOR_API_KEYS: ` billing:read+usage:write:${HASH} , ops:admin:${OTHER_HASH.toUpperCase()}`,
        MAX_REQUEST_BYTES: '65536',
        METERING_DIMENSIONS: 'requests,users',
      },
      'aws',
    );
    expect(config.store).toEqual({ backend: 'dynamodb', tableName: 'mc' });
    expect(config.maxRequestBytes).toBe(65_536);
    expect(config.apiKeys.map((k) => [k.id, [...k.scopes], k.sha256.toString('hex')])).toEqual([
      ['billing', ['read', 'usage:write'], HASH],
      ['ops', ['admin'], OTHER_HASH],
    ]);
    expect(config.usage.windowHours).toBe(24);
    expect(config.usage.clouds).toEqual(['aws']);
    expect(config.webhooks.endpoints).toEqual([]);
  });

  it('defaults to a 1 MB body and to Firestore on Google Cloud', () => {
    const config = loadVendorApiConfig({ VENDOR_API_KEYS: BASE.VENDOR_API_KEYS }, 'gcp');
    expect(config.maxRequestBytes).toBe(1_048_576);
    expect(config.store.backend).toBe('firestore');
    expect(config.usage.clouds).toEqual(['gcp']);
  });

  it.each([
    ['unset', undefined],
    ['blank', '  '],
  ])('requires VENDOR_API_KEYS (%s)', (_case, value) => {
    expect(problemsOf(() => loadVendorApiConfig({ ...BASE, VENDOR_API_KEYS: value }))).toEqual([
      { variable: 'VENDOR_API_KEYS', problem: 'is required' },
    ]);
  });

  it.each([
    ['no separators', 'billing', /entry 1 must be <key id>:<scope>/],
    ['no hash', 'billing:read', /entry 1 must be/],
    ['an id with an underscore', `bill_ing:read:${HASH}`, /entry 1 has an invalid key id/],
    ['an unknown scope', `billing:write:${HASH}`, /entry 1 \(key id "billing"\) names an unknown/],
    ['no scope', `billing::${HASH}`, /unknown scope/],
    ['a repeated scope', `billing:read+read:${HASH}`, /repeats a scope/],
    ['a short hash', `billing:read:${HASH.slice(1)}`, /64 hex digits/],
    ['a key instead of its hash', `billing:read:${KEY}`, /64 hex digits/],
    ['an empty entry', `billing:read:${HASH},,ops:admin:${OTHER_HASH}`, /entry 2 is empty/],
  ])('names VENDOR_API_KEYS for %s, without quoting the hash or key', (_case, value, message) => {
    const problems = problemsOf(() => loadVendorApiConfig({ ...BASE, VENDOR_API_KEYS: value }));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.variable).toBe('VENDOR_API_KEYS');
    expect(problems[0]!.problem).toMatch(message);
    const text = new ConfigError(problems).message;
    expect(text).not.toContain(HASH.slice(0, 16));
    expect(text).not.toContain(HASH.slice(1, 17));
    expect(text).not.toContain(KEY.slice(12));
  });

  it('refuses a key id listed twice', () => {
    const problems = problemsOf(() =>
      loadVendorApiConfig({
        ...BASE,
        VENDOR_API_KEYS: `billing:read:${HASH},billing:admin:${OTHER_HASH}`,
      }),
    );
    expect(problems).toEqual([
      { variable: 'VENDOR_API_KEYS', problem: 'lists key id "billing" twice' },
    ]);
  });

  it('reads the scope usage:write despite its colon', () => {
    const config = loadVendorApiConfig({ ...BASE, VENDOR_API_KEYS: `meter:usage:write:${HASH}` });
    expect([...config.apiKeys[0]!.scopes]).toEqual(['usage:write']);
  });

  it.each(['1023', '4194305', '1.5', 'lots'])('refuses MAX_REQUEST_BYTES=%s on AWS', (value) => {
    expect(
      problemsOf(() => loadVendorApiConfig({ ...BASE, MAX_REQUEST_BYTES: value }, 'aws')).map(
        (p) => p.variable,
      ),
    ).toEqual(['MAX_REQUEST_BYTES']);
  });

  it('takes MAX_REQUEST_BYTES up to what reaches the function on each cloud', () => {
    expect(
      loadVendorApiConfig({ ...BASE, MAX_REQUEST_BYTES: '4194304' }, 'aws').maxRequestBytes,
    ).toBe(4_194_304);
    expect(
      loadVendorApiConfig({ ...BASE, MAX_REQUEST_BYTES: '33554432' }, 'gcp').maxRequestBytes,
    ).toBe(33_554_432);
    const problems = problemsOf(() =>
      loadVendorApiConfig({ ...BASE, MAX_REQUEST_BYTES: '33554433' }, 'gcp'),
    );
    expect(problems).toEqual([
      { variable: 'MAX_REQUEST_BYTES', problem: expect.stringContaining('Cloud Run') },
    ]);
  });

  it('names every variable at fault in one error', () => {
    const problems = problemsOf(() =>
      loadVendorApiConfig({
        MAX_REQUEST_BYTES: '0',
        METERING_WINDOW_HOURS: '1',
        WEBHOOK_URLS: 'https://app.example.com/hooks',
      }),
    );
    expect([...new Set(problems.map((p) => p.variable))].sort()).toEqual([
      'MAX_REQUEST_BYTES',
      'METERING_WINDOW_HOURS',
      'TABLE_NAME',
      'VENDOR_API_KEYS',
      'WEBHOOK_SECRETS',
    ]);
  });
});
