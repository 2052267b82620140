import { createDynamoDbStoreFromConfig } from '../adapters/dynamodb';
import { ConfigError } from '../domain/errors';
import {
  loadAwsMeteringConfig,
  loadAwsNotificationsConfig,
  loadAwsSignupConfig,
} from './aws-config';

const BASE = { TABLE_NAME: 'state', AWS_PRODUCT_CODE: 'prod0code' };
const TOPIC = 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-prod0code';

const problemsOf = (load: () => unknown): string[] => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('AWS function configuration', () => {
  it('gives metering the documented defaults', () => {
    const config = loadAwsMeteringConfig(BASE);
    expect(config.store).toEqual({ backend: 'dynamodb', tableName: 'state' });
    expect(config.marketplace).toEqual({ productCode: 'prod0code' });
    expect(config.metering).toEqual({
      dimensions: [],
      zeroRecords: true,
      ratePerSecond: 10,
      windowHours: 24,
    });
  });

  it('reads metering settings and the simulator endpoint', () => {
    const config = loadAwsMeteringConfig({
      ...BASE,
      AWS_MARKETPLACE_ENDPOINT: 'http://127.0.0.1:4010',
      AWS_REGION: 'eu-west-1',
      METERING_DIMENSIONS: ' requests, users ,',
      METERING_ZERO_RECORDS: 'FALSE',
      METERING_RATE_PER_SECOND: '2.5',
      METERING_WINDOW_HOURS: '6',
    });
    expect(config.marketplace).toEqual({
      productCode: 'prod0code',
      endpoint: 'http://127.0.0.1:4010',
      region: 'eu-west-1',
    });
    expect(config.metering).toEqual({
      dimensions: ['requests', 'users'],
      zeroRecords: false,
      ratePerSecond: 2.5,
      windowHours: 6,
    });
  });

  it('names every variable at fault in one error', () => {
    expect(
      problemsOf(() =>
        loadAwsMeteringConfig({
          METERING_ZERO_RECORDS: 'yes',
          METERING_RATE_PER_SECOND: '0',
          METERING_WINDOW_HOURS: '1.5',
          AWS_MARKETPLACE_ENDPOINT: 'not a url',
        }),
      ).sort(),
    ).toEqual(
      [
        'TABLE_NAME',
        'AWS_PRODUCT_CODE',
        'AWS_MARKETPLACE_ENDPOINT',
        'METERING_ZERO_RECORDS',
        'METERING_RATE_PER_SECOND',
        'METERING_WINDOW_HOURS',
      ].sort(),
    );
  });

  it('refuses SNS messages unless topics are listed, and checks they are SNS ARNs', () => {
    expect(loadAwsNotificationsConfig(BASE).snsTopicArns).toEqual([]);
    expect(loadAwsNotificationsConfig({ ...BASE, SNS_TOPIC_ARNS: TOPIC })).toMatchObject({
      snsTopicArns: [TOPIC],
    });
    expect(
      problemsOf(() => loadAwsNotificationsConfig({ ...BASE, SNS_TOPIC_ARNS: 'topic' })),
    ).toEqual(['SNS_TOPIC_ARNS']);
  });

  it('needs the onboarding page and a long handoff secret for the signup', () => {
    expect(
      problemsOf(() => loadAwsSignupConfig({ ...BASE, HANDOFF_SECRET: 'short' })).sort(),
    ).toEqual(['HANDOFF_SECRET', 'ONBOARDING_URL']);
    expect(
      loadAwsSignupConfig({
        ...BASE,
        ONBOARDING_URL: 'https://app.example.com/welcome',
        HANDOFF_SECRET: 'a-handoff-secret-of-at-least-32-chars',
      }),
    ).toMatchObject({
      handoff: { ttlSeconds: 300 },
      onboardingUrl: 'https://app.example.com/welcome',
    });
  });

  it('leaves the store to the AWS adapter, which refuses anything but DynamoDB', () => {
    const config = loadAwsMeteringConfig({ ...BASE, STORE_BACKEND: 'firestore' });
    expect(() => createDynamoDbStoreFromConfig(config.store)).toThrow(ConfigError);
  });
});
