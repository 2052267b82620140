import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeterUsageResult } from '../../shared/app/meter-usage-to-aws';
import {
  createDynamoDbDocumentClient,
  createDynamoDbStore,
  createTable,
} from '../../shared/adapters/dynamodb';
import { createFirestoreClient, createFirestoreStore } from '../../shared/adapters/firestore';
import { snsTopicArn } from '../../sim/aws/notifications';
import { createSimulator } from '../../sim/server';
import { startDemoVendorApp } from './demo-vendor-app';
import { startDynamoDbLocal } from './dynamodb-local';
import { startFirestoreEmulator } from './firestore-emulator';
import { serveHttpApi, serveSqsHandler } from './lambda-http';
import { newApiKey } from '../../shared/adapters/http/vendor-api/api-key';
import type { HttpApiHandler, SqsHandler } from './lambda-http';

/**
 * `npm start`: the local stack. The simulator plays both marketplaces; the Google functions run
 * on the Functions Framework with Firestore on an emulator; the AWS functions run as Lambda
 * would invoke them (an HTTP API for signup, the simulator's SQS queue for notifications, an
 * hourly schedule for metering) with DynamoDB Local keeping its data on disk; and two demo pages
 * let a person buy on either cloud and land on the vendor's onboarding page.
 */
const TABLE_NAME = 'marketplace-connector';
const DATA_DIR = join(process.cwd(), '.local');
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const PORTS = {
  dynamodb: port('DYNAMODB_LOCAL_PORT', 8000),
  sim: port('SIM_PORT', 4010),
  events: port('LOCAL_EVENTS_PORT', 4011),
  signup: port('LOCAL_SIGNUP_PORT', 4012),
  usageReport: port('LOCAL_USAGE_REPORT_PORT', 4013),
  app: port('LOCAL_APP_PORT', 4014),
  awsSignup: port('LOCAL_AWS_SIGNUP_PORT', 4015),
  awsSqs: port('LOCAL_AWS_SQS_PORT', 4016),
  awsMetering: port('LOCAL_AWS_METERING_PORT', 4017),
  webhooks: port('LOCAL_WEBHOOKS_PORT', 4018),
  vendorApi: port('LOCAL_VENDOR_API_PORT', 4019),
  awsVendorApi: port('LOCAL_AWS_VENDOR_API_PORT', 4020),
};

/** As serverless.yml's `rate(1 minute)` and the Scheduler job: retries of undelivered events. */
const WEBHOOK_RUN_EVERY_MS = 60_000;

/** As serverless.yml's `cron(5 * * * ? *)`: once the hour before has surely closed. */
const METERING_MINUTES_PAST_THE_HOUR = 5;
const HOUR_MS = 3_600_000;

const listen = (server: Server, at: number) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, '127.0.0.1', () => resolve());
  });

type MeteringHandler = (event?: Record<string, unknown>) => Promise<MeterUsageResult>;
type ScheduledHandler = (event?: Record<string, unknown>) => Promise<unknown>;

/** The event the hourly EventBridge rule invokes the metering function with. */
const scheduledEvent = (region: string, account: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account,
  time: new Date().toISOString(),
  region,
  resources: [],
  detail: {},
});

/** `POST /meter` invokes the metering function now, as the schedule would, and answers its result. */
const serveMeteringOnDemand = (meter: () => Promise<MeterUsageResult>): Server =>
  createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    req.resume();
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/meter') {
      json(404, { message: 'POST /meter runs the metering function' });
      return;
    }
    if (req.method !== 'POST') {
      json(405, { message: 'POST /meter runs the metering function' });
      return;
    }
    meter().then(
      (result) => json(200, result),
      (error: unknown) =>
        json(500, { message: error instanceof Error ? error.message : String(error) }),
    );
  });

const main = async (): Promise<void> => {
  const dynamo = await startDynamoDbLocal({
    port: PORTS.dynamodb,
    dbPath: join(DATA_DIR, 'dynamodb'),
  });
  const client = createDynamoDbDocumentClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
  const created = await createTable(client, TABLE_NAME);
  const firestore = await startFirestoreEmulator(process.env);
  const sim = await createSimulator({
    port: PORTS.sim,
    gcp: { deliver: 'async', accountNotifications: true },
    // No endpoint yet: messages wait in the queue until the notifications function listens.
    aws: { sqs: { deliver: 'async' } },
  });

  const local = (at: number) => `http://127.0.0.1:${at}/`;
  const handoffSecret = randomBytes(32).toString('hex');
  const webhookSecret = randomBytes(32).toString('hex');
  // One key with every scope for trying the vendor API by hand; deployments make one per use.
  const apiKey = newApiKey('local', ['read', 'usage:write', 'admin']);
  // Also on disk, for scripts such as the smoke run; only this user may read it.
  writeFileSync(join(DATA_DIR, 'vendor-api-key'), `${apiKey.key}\n`, { mode: 0o600 });
  const onboardingUrl = `${local(PORTS.app)}welcome`;
  const usageService = sim.gcp.productDomains[0]!;
  Object.assign(process.env, {
    METADATA_SERVER_DETECTION: 'none',
    STORE_BACKEND: 'firestore',
    FIRESTORE_EMULATOR_HOST: firestore.host,
    FIRESTORE_PROJECT_ID: 'demo-local',
    GCP_PROVIDER_ID: sim.gcp.providerId,
    PROCUREMENT_API_URL: `${sim.url}/`,
    SERVICE_CONTROL_API_URL: `${sim.url}/`,
    GOOGLE_CERTS_URL: sim.url,
    PUSH_AUDIENCE: local(PORTS.events),
    PUSH_SERVICE_ACCOUNT: sim.gcp.configurePush({}).pushServiceAccount,
    PRODUCT_DOMAINS: sim.gcp.productDomains.join(','),
    ONBOARDING_URL: onboardingUrl,
    HANDOFF_SECRET: handoffSecret,
    USAGE_SERVICE_NAME: usageService,
    USAGE_METRICS: JSON.stringify({
      pro: { requests: `${usageService}/pro_requests` },
      team: { requests: `${usageService}/team_requests` },
    }),
    SCHEDULER_AUDIENCE: local(PORTS.usageReport),
    SCHEDULER_SERVICE_ACCOUNT: 'scheduler@demo-local.iam.gserviceaccount.com',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // Every function of both clouds signs the events it writes to the demo app's webhook.
    WEBHOOK_URLS: `${local(PORTS.app)}webhooks`,
    WEBHOOK_SECRETS: webhookSecret,
    VENDOR_API_KEYS: apiKey.entry,
  });
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('../../functions/gcp/events');
  require('../../functions/gcp/signup');
  require('../../functions/gcp/usage-report');
  require('../../functions/vendor/gcp-webhooks');
  require('../../functions/vendor/gcp-api');
  const { getTestServer } = require('@google-cloud/functions-framework/testing') as {
    getTestServer: (name: string) => Server;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The demo pages read what the functions stored; the Firestore client reads the emulator
  // host from the environment when it is made, so now.
  const firestoreClient = createFirestoreClient({ projectId: 'demo-local' });

  // The Google functions read their configuration when they were loaded (their cold start), so
  // the environment can now become the AWS functions' without touching them.
  const product = sim.aws.products()[0]!;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    STORE_BACKEND: 'dynamodb',
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: sim.aws.region,
    // Never real credentials: everything AWS here is local and checks no signature.
    AWS_ACCESS_KEY_ID: 'AKIASIMULATOR000000',
    AWS_SECRET_ACCESS_KEY: 'simulated',
    AWS_PRODUCT_CODE: product.code,
    AWS_MARKETPLACE_ENDPOINT: sim.url,
    SNS_TOPIC_ARNS: [
      snsTopicArn('subscription', product.code, sim.aws.region),
      snsTopicArn('entitlement', product.code, sim.aws.region),
    ].join(','),
    SNS_CERT_HOST: new URL(sim.url).host,
    METERING_DIMENSIONS: [...(product.usageDimensions ?? [])].join(','),
    ONBOARDING_URL: onboardingUrl,
    HANDOFF_SECRET: handoffSecret,
  });
  /* eslint-disable @typescript-eslint/no-require-imports */
  const aws = {
    signup: (require('../../functions/aws/signup') as { handler: HttpApiHandler }).handler,
    notifications: (require('../../functions/aws/notifications') as { handler: SqsHandler })
      .handler,
    metering: (require('../../functions/aws/metering') as { handler: MeteringHandler }).handler,
    webhooks: (require('../../functions/vendor/aws-webhooks') as { handler: ScheduledHandler })
      .handler,
    vendorApi: (require('../../functions/vendor/aws-api') as { handler: HttpApiHandler }).handler,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const meter = () => aws.metering(scheduledEvent(sim.aws.region, sim.aws.sellerAccountId));

  const functions = {
    events: getTestServer('gcpEventsPush'),
    signup: getTestServer('gcpSignup'),
    usageReport: getTestServer('gcpUsageReport'),
    // Checks Cloud Scheduler's token, whose audience here is the usage report's URL.
    webhooks: getTestServer('gcpWebhooks'),
    vendorApi: getTestServer('gcpVendorApi'),
    awsVendorApi: serveHttpApi(aws.vendorApi),
    awsSignup: serveHttpApi(aws.signup),
    awsSqs: serveSqsHandler(aws.notifications),
    awsMetering: serveMeteringOnDemand(meter),
  };
  await listen(functions.events, PORTS.events);
  await listen(functions.signup, PORTS.signup);
  await listen(functions.usageReport, PORTS.usageReport);
  await listen(functions.webhooks, PORTS.webhooks);
  await listen(functions.vendorApi, PORTS.vendorApi);
  await listen(functions.awsVendorApi, PORTS.awsVendorApi);
  await listen(functions.awsSignup, PORTS.awsSignup);
  await listen(functions.awsSqs, PORTS.awsSqs);
  await listen(functions.awsMetering, PORTS.awsMetering);
  sim.gcp.configurePush({ pushEndpoint: local(PORTS.events), pushAudience: local(PORTS.events) });
  sim.aws.configure({ sqsEndpoint: local(PORTS.awsSqs) });

  // The hourly schedule: a timer chain that never keeps the process alive on its own.
  let meteringTimer: NodeJS.Timeout | undefined;
  const scheduleMetering = () => {
    const now = Date.now();
    const offsetMs = METERING_MINUTES_PAST_THE_HOUR * 60_000;
    let next = Math.floor(now / HOUR_MS) * HOUR_MS + offsetMs;
    if (next <= now) next += HOUR_MS;
    meteringTimer = setTimeout(() => {
      meter()
        .then((result) => console.log(`aws/metering (hourly run): ${JSON.stringify(result)}`))
        .catch((error: unknown) =>
          console.error(
            'scheduled metering failed:',
            error instanceof Error ? error.message : error,
          ),
        )
        .finally(scheduleMetering);
    }, next - now);
    meteringTimer.unref();
  };
  scheduleMetering();

  // Each write delivers its events at once; these runs retry what could not be delivered.
  const webhookRuns = setInterval(() => {
    const token = sim.gcp.oidcToken({
      audience: local(PORTS.usageReport),
      email: 'scheduler@demo-local.iam.gserviceaccount.com',
    });
    Promise.all([
      aws.webhooks(scheduledEvent(sim.aws.region, sim.aws.sellerAccountId)),
      fetch(local(PORTS.webhooks), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      }),
    ]).catch((error: unknown) =>
      console.error('webhook run failed:', error instanceof Error ? error.message : error),
    );
  }, WEBHOOK_RUN_EVERY_MS);
  webhookRuns.unref();

  const app = await startDemoVendorApp({
    port: PORTS.app,
    sim,
    signupUrl: local(PORTS.signup),
    awsSignupUrl: `${local(PORTS.awsSignup)}signup`,
    handoffSecret,
    stores: {
      gcp: createFirestoreStore(firestoreClient),
      aws: createDynamoDbStore(client, { tableName: TABLE_NAME }),
    },
    webhookSecrets: [webhookSecret],
  });

  console.log(
    [
      'marketplace-connector local stack',
      '',
      `  Open ${local(PORTS.app)} to buy the demo product as a Google Cloud or an AWS buyer.`,
      '',
      `  Marketplace simulator   ${sim.url}  (Google and AWS; routes: sim/README.md)`,
      `  gcp/events              ${local(PORTS.events)}  (Pub/Sub pushes from the simulator)`,
      `  gcp/signup              ${local(PORTS.signup)}`,
      `  gcp/usage-report        ${local(PORTS.usageReport)}  (POST with a token from ${sim.url}/_sim/gcp/oidc-token)`,
      `  aws/signup              ${local(PORTS.awsSignup)}signup  (the fulfillment URL: HTTP API, POST x-amzn-marketplace-token)`,
      `  aws/notifications       ${local(PORTS.awsSqs)}  (SQS events from the simulator's queue ${sim.aws.queueArn})`,
      `  aws/metering            hourly at ${METERING_MINUTES_PAST_THE_HOUR} past the hour; now: curl -X POST ${local(PORTS.awsMetering)}meter`,
      `  AWS product             ${product.code}  (dimensions ${process.env.METERING_DIMENSIONS})`,
      `  webhooks                every write signs its events to ${local(PORTS.app)}webhooks (GET lists them); retries every minute (gcp on ${local(PORTS.webhooks)})`,
      `  vendor API              ${local(PORTS.vendorApi)}v1/... (Google purchases) and ${local(PORTS.awsVendorApi)}v1/... (AWS purchases); docs/vendor-api.openapi.yaml`,
      `                          Authorization: Bearer ${apiKey.key}`,
      `  Firestore emulator      ${firestore.host}  (in memory, project demo-local)`,
      `  DynamoDB Local          ${dynamo.endpoint}  (data in .local/dynamodb, table "${TABLE_NAME}"${created ? ', created now' : ''})`,
      '',
      'local stack ready; Ctrl-C stops it',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearTimeout(meteringTimer);
    clearInterval(webhookRuns);
    // Whatever hangs, the stack does not outlive the signal by long.
    setTimeout(() => process.exit(1), 15_000).unref();
    const close = (server: Server) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    await Promise.all([...Object.values(functions), app].map(close));
    await sim.stop();
    client.destroy();
    await firestoreClient.terminate();
    await Promise.all([dynamo.stop(), firestore.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
