import { ConfigError } from '../domain/errors';
import { loadCoreConfig } from './load-config';

describe('loadCoreConfig', () => {
  it('defaults to DynamoDB on AWS and needs the table there', () => {
    expect(loadCoreConfig({ TABLE_NAME: 'mc' }, 'aws')).toEqual({
      store: { backend: 'dynamodb', tableName: 'mc' },
      eventTtlSeconds: 365 * 86_400,
      logLevel: 'info',
    });
  });

  it('defaults to Firestore on Google Cloud, with no required variable', () => {
    expect(loadCoreConfig({ FIRESTORE_DATABASE_ID: 'mc' }, 'gcp').store).toEqual({
      backend: 'firestore',
      databaseId: 'mc',
    });
  });

  it('reads every optional value', () => {
    const config = loadCoreConfig(
      {
        STORE_BACKEND: 'dynamodb',
        TABLE_NAME: 'mc',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
        AWS_REGION: 'us-east-1',
        EVENT_RETENTION_DAYS: '30',
        LOG_LEVEL: 'debug',
      },
      'gcp',
    );
    expect(config).toEqual({
      store: {
        backend: 'dynamodb',
        tableName: 'mc',
        endpoint: 'http://127.0.0.1:8000',
        region: 'us-east-1',
      },
      eventTtlSeconds: 30 * 86_400,
      logLevel: 'debug',
    });
  });

  it.each([
    [{}, 'TABLE_NAME'],
    [{ TABLE_NAME: '   ' }, 'TABLE_NAME'],
    [{ TABLE_NAME: 't', STORE_BACKEND: 'postgres' }, 'STORE_BACKEND'],
    [{ TABLE_NAME: 't', DYNAMODB_ENDPOINT: 'not a url' }, 'DYNAMODB_ENDPOINT'],
    [{ TABLE_NAME: 't', EVENT_RETENTION_DAYS: 'ten' }, 'EVENT_RETENTION_DAYS'],
    [{ TABLE_NAME: 't', EVENT_RETENTION_DAYS: '1.5' }, 'EVENT_RETENTION_DAYS'],
    [{ TABLE_NAME: 't', LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('stops the cold start naming the variable for %j', (env, variable) => {
    const act = () => loadCoreConfig(env, 'aws');
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(new RegExp(`^invalid configuration: .*${variable}`));
    try {
      act();
    } catch (error) {
      expect((error as ConfigError).variables).toContain(variable);
    }
  });

  it('names every variable at fault at once', () => {
    try {
      loadCoreConfig({ LOG_LEVEL: 'loud' }, 'aws');
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).variables).toEqual(['TABLE_NAME', 'LOG_LEVEL']);
    }
  });
});
