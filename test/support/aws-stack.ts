import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import type { MeterUsageResult } from '../../shared/app/meter-usage-to-aws';
import type { Store } from '../../shared/ports/store';
import { serveHttpApi, serveSqsHandler } from '../../infra/local/lambda-http';
import { createSimulator } from '../../sim/server';
import type { Simulator, SimulatorOptions } from '../../sim/server';
import type { AwsSimulatorOptions } from '../../sim/aws/aws-options';
import { snsTopicArn } from '../../sim/aws/notifications';
import { dynamoDbEndpoint } from '../engines/engines';
import { freshDynamoDbTable } from './stores';
import { listenOnLoopback, serveThrough } from './loopback';

export const HANDOFF_SECRET = 'test-handoff-secret-that-is-long-enough';
export const ONBOARDING_URL = 'https://app.example.com/welcome?from=aws';
/** The simulator's default product and its metered dimensions. */
export const PRODUCT_CODE = 'demo0product0code0local01';
export const DIMENSIONS = ['requests', 'users', 'gigabytes'];

export interface AwsStack {
  readonly sim: Simulator;
  readonly store: Store;
  readonly tableName: string;
  /** The signup function behind a local HTTP API; the queue's sink in front of notifications. */
  readonly urls: { readonly signup: string; readonly sqs: string };
  readonly notifications: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly metering: (event?: unknown) => Promise<MeterUsageResult>;
  readonly signup: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
  stop(): Promise<void>;
}

export interface AwsStackOptions {
  /** Overrides of the functions' environment. */
  readonly env?: Record<string, string>;
  readonly aws?: AwsSimulatorOptions;
  readonly now?: SimulatorOptions['now'];
}

/**
 * The AWS side as deployed, on this machine: the simulator as AWS Marketplace (its queue
 * delivering real SQS events to the notifications function), the signup function behind a
 * local HTTP API, the metering function to invoke as the schedule would, and a fresh DynamoDB
 * Local table. The functions get the environment serverless.yml gives them; `env` overrides.
 */
export const startAwsStack = async (options: AwsStackOptions = {}): Promise<AwsStack> => {
  const listening = { sqs: await listenOnLoopback(), signup: await listenOnLoopback() };
  const urls = { sqs: `${listening.sqs.url}/`, signup: `${listening.signup.url}/signup` };
  const sim = await createSimulator({
    ...(options.now ? { now: options.now } : {}),
    aws: { sqs: { endpoint: urls.sqs, deliver: 'sync' }, requestsPerSecond: 0, ...options.aws },
  });
  const table = await freshDynamoDbTable();
  Object.assign(process.env, {
    STORE_BACKEND: 'dynamodb',
    TABLE_NAME: table.tableName,
    DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIASIMULATOR000000',
    AWS_SECRET_ACCESS_KEY: 'simulated',
    LOG_LEVEL: 'error',
    AWS_PRODUCT_CODE: PRODUCT_CODE,
    AWS_MARKETPLACE_ENDPOINT: sim.url,
    SNS_TOPIC_ARNS: [
      snsTopicArn('subscription', PRODUCT_CODE),
      snsTopicArn('entitlement', PRODUCT_CODE),
    ].join(','),
    SNS_CERT_HOST: new URL(sim.url).host,
    METERING_DIMENSIONS: DIMENSIONS.join(','),
    METERING_ZERO_RECORDS: 'true',
    METERING_RATE_PER_SECOND: '10',
    METERING_WINDOW_HOURS: '24',
    ONBOARDING_URL,
    HANDOFF_SECRET,
    HANDOFF_TTL_SECONDS: '300',
    ...options.env,
  });
  type Module<T> = { handler: T };
  let handlers:
    | {
        notifications: AwsStack['notifications'];
        metering: AwsStack['metering'];
        signup: AwsStack['signup'];
      }
    | undefined;
  // A fresh module registry per stack: each function reads its configuration at cold start.
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    handlers = {
      notifications: (
        require('../../functions/aws/notifications') as Module<AwsStack['notifications']>
      ).handler,
      metering: (require('../../functions/aws/metering') as Module<AwsStack['metering']>).handler,
      signup: (require('../../functions/aws/signup') as Module<AwsStack['signup']>).handler,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  });
  const { notifications, metering, signup } = handlers!;
  serveThrough(listening.sqs, serveSqsHandler(notifications));
  serveThrough(listening.signup, serveHttpApi(signup));
  return {
    sim,
    store: table.store,
    tableName: table.tableName,
    urls,
    notifications,
    metering,
    signup,
    stop: async () => {
      await sim.idle(5_000);
      await Promise.all([listening.sqs.close(), listening.signup.close()]);
      await sim.stop();
      await table.drop();
    },
  };
};

/** Posts the registration form as the buyer's browser does after "Set up your account". */
export const postRegistration = async (
  stack: AwsStack,
  registrationToken: string,
  options: { freeTrial?: boolean; multipart?: boolean } = {},
): Promise<Response> => {
  const fields: Record<string, string> = { 'x-amzn-marketplace-token': registrationToken };
  if (options.freeTrial) fields['x-amzn-marketplace-offer-type'] = 'free-trial';
  let body: URLSearchParams | FormData;
  if (options.multipart) {
    body = new FormData();
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
  } else {
    body = new URLSearchParams(fields);
  }
  return fetch(stack.urls.signup, { method: 'POST', body, redirect: 'manual' });
};
