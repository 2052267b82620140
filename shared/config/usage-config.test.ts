import { ConfigError } from '../domain/errors';
import { anEntitlement } from '../test/builders';
import { loadAwsMeteringConfig } from './aws-config';
import { loadGcpUsageConfig } from './gcp-config';
import { loadUsageIngestConfig } from './usage-config';

const METRICS = JSON.stringify({
  pro: { requests: 'example.com/pro_requests', storage: 'example.com/pro_storage' },
  basic: { requests: 'example.com/basic_requests' },
});

const problemsOf = (load: () => unknown): string[] => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const sorted = (set: ReadonlySet<string>) => [...set].sort();

describe('usage ingest configuration', () => {
  it('knows the dimensions of a Google entitlement from its plan', () => {
    const config = loadUsageIngestConfig({ USAGE_METRICS: METRICS });
    expect(sorted(config.knownDimensions(anEntitlement({ plan: 'pro' })))).toEqual([
      'requests',
      'storage',
    ]);
    expect(sorted(config.knownDimensions(anEntitlement({ plan: 'basic' })))).toEqual(['requests']);
    expect(config.knownDimensions(anEntitlement({ plan: 'enterprise' })).size).toBe(0);
    expect(config.knownDimensions(anEntitlement({ plan: null })).size).toBe(0);
  });

  it('knows the listing dimensions for every AWS entitlement, whatever its plan', () => {
    const config = loadUsageIngestConfig({
      USAGE_METRICS: METRICS,
      METERING_DIMENSIONS: ' requests, users ,',
    });
    const aws = anEntitlement({ cloud: 'aws', plan: 'pro' });
    expect(sorted(config.knownDimensions(aws))).toEqual(['requests', 'users']);
    expect(sorted(config.knownDimensions(anEntitlement({ plan: 'pro' })))).toEqual([
      'requests',
      'storage',
    ]);
  });

  it('knows no dimension of a cloud that has none configured', () => {
    const config = loadUsageIngestConfig({ USAGE_METRICS: ' ', METERING_DIMENSIONS: '' });
    expect(config.knownDimensions(anEntitlement({ plan: 'pro' })).size).toBe(0);
    expect(config.knownDimensions(anEntitlement({ cloud: 'aws' })).size).toBe(0);
  });

  it('takes the metering window, 24 hours unless set, and remembers usage ids past it', () => {
    expect(loadUsageIngestConfig({})).toMatchObject({
      windowHours: 24,
      dedupeTtlSeconds: 25 * 3_600,
    });
    expect(loadUsageIngestConfig({ METERING_WINDOW_HOURS: '6' })).toMatchObject({
      windowHours: 6,
      dedupeTtlSeconds: 7 * 3_600,
    });
  });

  it('takes usage for the clouds it is given, every cloud unless told', () => {
    expect(loadUsageIngestConfig({}).clouds).toEqual(['gcp', 'aws']);
    expect(loadUsageIngestConfig({}, ['aws']).clouds).toEqual(['aws']);
  });

  it('names every variable at fault in one error', () => {
    expect(
      problemsOf(() =>
        loadUsageIngestConfig({ USAGE_METRICS: '{"pro":', METERING_WINDOW_HOURS: '1.5' }),
      ).sort(),
    ).toEqual(['METERING_WINDOW_HOURS', 'USAGE_METRICS']);
    expect(problemsOf(() => loadUsageIngestConfig({ USAGE_METRICS: '["requests"]' }))).toEqual([
      'USAGE_METRICS',
    ]);
  });

  it('reads the variables as the metering functions read them', () => {
    const env = {
      TABLE_NAME: 'state',
      AWS_PRODUCT_CODE: 'prod0code',
      USAGE_SERVICE_NAME: 'svc.gcpmarketplace.example.com',
      USAGE_METRICS: METRICS,
      SCHEDULER_AUDIENCE: 'https://usage.example.com',
      SCHEDULER_SERVICE_ACCOUNT: 'scheduler@example.iam.gserviceaccount.com',
      METERING_DIMENSIONS: 'requests,users',
      METERING_WINDOW_HOURS: '12',
    };
    const ingest = loadUsageIngestConfig(env);
    const metering = loadAwsMeteringConfig(env).metering;
    const reporting = loadGcpUsageConfig(env);
    expect(ingest.windowHours).toBe(metering.windowHours);
    expect(sorted(ingest.knownDimensions(anEntitlement({ cloud: 'aws' })))).toEqual(
      [...metering.dimensions].sort(),
    );
    expect(sorted(ingest.knownDimensions(anEntitlement({ plan: 'pro' })))).toEqual(
      Object.keys(reporting.metrics.pro ?? {}).sort(),
    );
  });
});
