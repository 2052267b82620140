import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createDynamoDbDocumentClient, createTable } from '../../shared/adapters/dynamodb';
import { createSimulator } from '../../sim/server';
import { startDemoVendorApp } from './demo-vendor-app';
import { startDynamoDbLocal } from './dynamodb-local';
import { startFirestoreEmulator } from './firestore-emulator';

/**
 * `npm start`: the local stack. The simulator plays Google Cloud Marketplace, the Google
 * functions run on the Functions Framework with Firestore on an emulator, DynamoDB Local keeps
 * its data on disk for the AWS side, and two demo pages let a person buy and land on the
 * vendor's onboarding page.
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
};

const listen = (server: Server, at: number) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, '127.0.0.1', () => resolve());
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
  });

  const local = (at: number) => `http://127.0.0.1:${at}/`;
  const handoffSecret = randomBytes(32).toString('hex');
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
    ONBOARDING_URL: `${local(PORTS.app)}welcome`,
    HANDOFF_SECRET: handoffSecret,
    USAGE_SERVICE_NAME: usageService,
    USAGE_METRICS: JSON.stringify({
      pro: { requests: `${usageService}/pro_requests` },
      team: { requests: `${usageService}/team_requests` },
    }),
    SCHEDULER_AUDIENCE: local(PORTS.usageReport),
    SCHEDULER_SERVICE_ACCOUNT: 'scheduler@demo-local.iam.gserviceaccount.com',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('../../functions/gcp/events');
  require('../../functions/gcp/signup');
  require('../../functions/gcp/usage-report');
  const { getTestServer } = require('@google-cloud/functions-framework/testing') as {
    getTestServer: (name: string) => Server;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const functions = {
    events: getTestServer('gcpEventsPush'),
    signup: getTestServer('gcpSignup'),
    usageReport: getTestServer('gcpUsageReport'),
  };
  await listen(functions.events, PORTS.events);
  await listen(functions.signup, PORTS.signup);
  await listen(functions.usageReport, PORTS.usageReport);
  sim.gcp.configurePush({ pushEndpoint: local(PORTS.events), pushAudience: local(PORTS.events) });
  const app = await startDemoVendorApp({
    port: PORTS.app,
    sim,
    signupUrl: local(PORTS.signup),
    handoffSecret,
  });

  console.log(
    [
      'marketplace-connector local stack',
      '',
      `  Open ${local(PORTS.app)} to buy the demo product as a Google Cloud buyer.`,
      '',
      `  Marketplace simulator   ${sim.url}  (routes: sim/README.md)`,
      `  gcp/events              ${local(PORTS.events)}  (Pub/Sub pushes from the simulator)`,
      `  gcp/signup              ${local(PORTS.signup)}`,
      `  gcp/usage-report        ${local(PORTS.usageReport)}  (POST with a token from ${sim.url}/_sim/gcp/oidc-token)`,
      `  Firestore emulator      ${firestore.host}  (in memory, project demo-local)`,
      `  DynamoDB Local          ${dynamo.endpoint}  (data in .local/dynamodb, table "${TABLE_NAME}"${created ? ', created now' : ''})`,
      '',
      'Not built yet: the AWS functions and the AWS half of the simulator, the vendor API.',
      '',
      'local stack ready; Ctrl-C stops it',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...Object.values(functions), app].map(close));
    await sim.stop();
    client.destroy();
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
