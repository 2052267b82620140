import { createHash } from 'node:crypto';
import { ConfigError } from '../domain/errors';
import {
  loadWebhookConfig,
  loadWebhookFunctionConfig,
  webhookEndpointId,
  webhookLeaseMs,
} from './webhook-config';

const SECRET = 'webhook-secret-0123456789abcdef-new';
const OLD_SECRET = 'webhook-secret-0123456789abcdef-old';

const problemsOf = (load: () => unknown) => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};
const variablesAtFault = (load: () => unknown) =>
  [...new Set(problemsOf(load).map((p) => p.variable))].sort();

describe('webhook configuration', () => {
  it('sends nothing when no URL is set, and needs no secret then', () => {
    expect(loadWebhookConfig({})).toEqual({
      endpoints: [],
      secrets: [],
      timeoutMs: 10_000,
      retryHorizonMs: 72 * 60 * 60 * 1000,
      leaseMs: 120_000,
    });
    expect(loadWebhookConfig({ WEBHOOK_URLS: ' , ', WEBHOOK_SECRETS: '' }).endpoints).toEqual([]);
  });

  it('reads the URLs, the secrets in order and the timings', () => {
    const config = loadWebhookConfig({
      WEBHOOK_URLS:
        ' https://app.example.com/hooks/marketplace , https://backup.example.com:8443/h?k=1',
      WEBHOOK_SECRETS: `${SECRET},${OLD_SECRET}`,
      WEBHOOK_TIMEOUT_SECONDS: '30',
      WEBHOOK_RETRY_HORIZON_HOURS: '24',
    });
    expect(config).toEqual({
      endpoints: [
        {
          id: webhookEndpointId('https://app.example.com/hooks/marketplace'),
          url: 'https://app.example.com/hooks/marketplace',
        },
        {
          id: webhookEndpointId('https://backup.example.com:8443/h?k=1'),
          url: 'https://backup.example.com:8443/h?k=1',
        },
      ],
      secrets: [SECRET, OLD_SECRET],
      timeoutMs: 30_000,
      retryHorizonMs: 24 * 60 * 60 * 1000,
      leaseMs: 12 * 30_000,
    });
  });

  it('names an endpoint by 16 hex digits of the SHA-256 of its URL, as fetch spells it', () => {
    const url = 'https://app.example.com/hooks';
    expect(webhookEndpointId(url)).toBe(
      createHash('sha256').update(url).digest('hex').slice(0, 16),
    );
    const [endpoint] = loadWebhookConfig({
      WEBHOOK_URLS: 'https://APP.example.com',
      WEBHOOK_SECRETS: SECRET,
    }).endpoints;
    expect(endpoint).toEqual({
      id: webhookEndpointId('https://app.example.com/'),
      url: 'https://app.example.com/',
    });
    expect(endpoint!.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each(['http://localhost:8080/hooks', 'http://127.0.0.1:3000/', 'http://[::1]:3000/h'])(
    'takes plain http for the machine itself: %s',
    (url) => {
      expect(
        loadWebhookConfig({ WEBHOOK_URLS: url, WEBHOOK_SECRETS: SECRET }).endpoints,
      ).toHaveLength(1);
    },
  );

  it.each([
    ['plain http elsewhere', 'http://app.example.com/hooks', /https/],
    ['a host that only looks local', 'http://localhost.example.com/hooks', /https/],
    ['another scheme', 'ftp://app.example.com/hooks', /https/],
    ['something that is no URL', 'app.example.com/hooks', /URL/],
    ['credentials in the URL', 'https://user:pass@app.example.com/hooks', /password/],
    ['one URL twice', 'https://app.example.com/h,https://APP.example.com/h', /twice/],
  ])('refuses %s, naming WEBHOOK_URLS', (_case, urls, problem) => {
    const problems = problemsOf(() =>
      loadWebhookConfig({ WEBHOOK_URLS: urls, WEBHOOK_SECRETS: SECRET }),
    );
    expect(problems.map((p) => p.variable)).toEqual(
      expect.arrayContaining(['WEBHOOK_URLS']) as string[],
    );
    expect(problems.every((p) => p.variable === 'WEBHOOK_URLS')).toBe(true);
    expect(problems.map((p) => p.problem).join(' ')).toMatch(problem);
  });

  it('needs a secret once URLs are set, and secrets long enough to be secrets', () => {
    expect(
      variablesAtFault(() => loadWebhookConfig({ WEBHOOK_URLS: 'https://a.example' })),
    ).toEqual(['WEBHOOK_SECRETS']);
    const short = 'too-short-to-be-a-secret';
    const problems = problemsOf(() =>
      loadWebhookConfig({
        WEBHOOK_URLS: 'https://a.example',
        WEBHOOK_SECRETS: `${SECRET},${short}`,
      }),
    );
    expect(problems).toEqual([
      { variable: 'WEBHOOK_SECRETS', problem: expect.stringMatching(/32/) },
    ]);
    // The error is logged at cold start: it must never show a secret.
    expect(JSON.stringify(problems)).not.toContain(short);
  });

  it.each([
    ['WEBHOOK_TIMEOUT_SECONDS', '0'],
    ['WEBHOOK_TIMEOUT_SECONDS', '61'],
    ['WEBHOOK_TIMEOUT_SECONDS', '2.5'],
    ['WEBHOOK_TIMEOUT_SECONDS', 'ten'],
    ['WEBHOOK_RETRY_HORIZON_HOURS', '0'],
    ['WEBHOOK_RETRY_HORIZON_HOURS', '721'],
    ['WEBHOOK_RETRY_HORIZON_HOURS', '1.5'],
  ])('refuses %s=%s', (variable, value) => {
    expect(variablesAtFault(() => loadWebhookConfig({ [variable]: value }))).toEqual([variable]);
  });

  it('names every variable at fault in one error', () => {
    expect(
      variablesAtFault(() =>
        loadWebhookConfig({
          WEBHOOK_URLS: 'http://app.example.com',
          WEBHOOK_TIMEOUT_SECONDS: '-1',
          WEBHOOK_RETRY_HORIZON_HOURS: 'forever',
        }),
      ),
    ).toEqual([
      'WEBHOOK_RETRY_HORIZON_HOURS',
      'WEBHOOK_SECRETS',
      'WEBHOOK_TIMEOUT_SECONDS',
      'WEBHOOK_URLS',
    ]);
  });

  it('keeps a lease longer than a batch of one purchase sent one after the other', () => {
    expect(webhookLeaseMs(1_000)).toBe(120_000);
    expect(webhookLeaseMs(60_000)).toBe(720_000);
  });

  it('reads the store with the webhooks for the webhooks function, on either cloud', () => {
    const env = {
      TABLE_NAME: 'state',
      WEBHOOK_URLS: 'https://app.example.com/hooks',
      WEBHOOK_SECRETS: SECRET,
    };
    expect(loadWebhookFunctionConfig(env, 'aws')).toMatchObject({
      store: { backend: 'dynamodb', tableName: 'state' },
      webhooks: { endpoints: [{ url: 'https://app.example.com/hooks' }], secrets: [SECRET] },
    });
    expect(loadWebhookFunctionConfig({ ...env, TABLE_NAME: '' }, 'gcp')).toMatchObject({
      store: { backend: 'firestore' },
    });
    expect(
      variablesAtFault(() =>
        loadWebhookFunctionConfig({ WEBHOOK_URLS: 'https://a.example' }, 'aws'),
      ),
    ).toEqual(['TABLE_NAME', 'WEBHOOK_SECRETS']);
  });
});
