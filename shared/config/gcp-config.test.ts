import { ConfigError } from '../domain/errors';
import { loadGcpEventsConfig, loadGcpSignupConfig } from './gcp-config';

const events = {
  GCP_PROVIDER_ID: 'DEMO-example',
  PUSH_AUDIENCE: 'https://events.example.run.app',
  PUSH_SERVICE_ACCOUNT: 'push@example.iam.gserviceaccount.com',
};
const signup = {
  GCP_PROVIDER_ID: 'DEMO-example',
  PRODUCT_DOMAINS: 'example.com, example.gcpmarketplace.example.com',
  ONBOARDING_URL: 'https://app.example.com/welcome',
  HANDOFF_SECRET: 'x'.repeat(32),
};

const variablesOf = (act: () => unknown): string[] => {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigError) return error.variables;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('Google functions configuration', () => {
  it('defaults to Firestore, Google endpoints and automatic approval', () => {
    expect(loadGcpEventsConfig(events)).toMatchObject({
      store: { backend: 'firestore' },
      marketplace: {
        providerId: 'DEMO-example',
        procurementApiUrl: 'https://cloudcommerceprocurement.googleapis.com/',
        googleCertsUrl: 'https://www.googleapis.com',
      },
      push: { audience: events.PUSH_AUDIENCE, serviceAccount: events.PUSH_SERVICE_ACCOUNT },
      policy: { mode: 'auto' },
    });
  });

  it('reads a plan allow-list and the product domains', () => {
    const config = loadGcpSignupConfig({
      ...signup,
      APPROVAL_POLICY: 'plans',
      APPROVAL_PLANS: 'pro, team',
    });
    expect(config.policy).toEqual({ mode: 'plans', plans: ['pro', 'team'] });
    expect(config.productDomains).toEqual(['example.com', 'example.gcpmarketplace.example.com']);
    expect(config.handoff).toEqual({ secret: signup.HANDOFF_SECRET, ttlSeconds: 300 });
  });

  it('names every variable at fault at once', () => {
    expect(variablesOf(() => loadGcpEventsConfig({ LOG_LEVEL: 'loud' }))).toEqual([
      'LOG_LEVEL',
      'GCP_PROVIDER_ID',
      'PUSH_AUDIENCE',
      'PUSH_SERVICE_ACCOUNT',
    ]);
  });

  it.each([
    [{ APPROVAL_POLICY: 'plans' }, 'APPROVAL_PLANS'],
    [{ APPROVAL_POLICY: 'sometimes' }, 'APPROVAL_POLICY'],
    [{ HANDOFF_SECRET: 'short' }, 'HANDOFF_SECRET'],
    [{ ONBOARDING_URL: 'not a url' }, 'ONBOARDING_URL'],
    [{ PRODUCT_DOMAINS: ' , ' }, 'PRODUCT_DOMAINS'],
    [{ HANDOFF_TTL_SECONDS: '99999' }, 'HANDOFF_TTL_SECONDS'],
    [{ PROCUREMENT_API_URL: 'nope' }, 'PROCUREMENT_API_URL'],
  ])('stops the signup cold start for %j', (overrides, variable) => {
    expect(variablesOf(() => loadGcpSignupConfig({ ...signup, ...overrides }))).toEqual([variable]);
  });
});
