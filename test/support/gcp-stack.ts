import type { Server } from 'node:http';
import { createFirestoreClient, createFirestoreStore } from '../../shared/adapters/firestore';
import type { Store } from '../../shared/ports/store';
import { createSimulator } from '../../sim/server';
import type { Simulator } from '../../sim/server';
import { firestoreEmulator, uniqueName } from '../engines/engines';
import { listenOnLoopback, serveThrough } from './loopback';
import type { Listening } from './loopback';

export const HANDOFF_SECRET = 'test-handoff-secret-that-is-long-enough';
export const ONBOARDING_URL = 'https://app.example.com/welcome?from=marketplace';
export const SCHEDULER_SERVICE_ACCOUNT = 'scheduler@demo-local.iam.gserviceaccount.com';
export const USAGE_SERVICE_NAME = 'demo-product.endpoints.demo-local.cloud.goog';
export const USAGE_METRICS = {
  pro: { requests: `${USAGE_SERVICE_NAME}/pro_requests` },
  team: { requests: `${USAGE_SERVICE_NAME}/team_requests` },
};

export interface GcpStack {
  readonly sim: Simulator;
  readonly store: Store;
  readonly urls: { events: string; cloudEvent: string; signup: string; usageReport: string };
  stop(): Promise<void>;
}

type Servers = Record<keyof GcpStack['urls'], Server>;

/**
 * The Google side as deployed, on this machine: the simulator as Google, the three functions
 * served by the Functions Framework on real ports with the environment Terraform would give
 * them, and a fresh Firestore project on the emulator. `env` overrides any variable.
 */
export const startGcpStack = async (env: Record<string, string> = {}): Promise<GcpStack> => {
  const sim = await createSimulator({ gcp: { deliver: 'sync', accountNotifications: true } });
  const listening: Record<keyof GcpStack['urls'], Listening> = {
    events: await listenOnLoopback(),
    cloudEvent: await listenOnLoopback(),
    signup: await listenOnLoopback(),
    usageReport: await listenOnLoopback(),
  };
  const urls = {
    events: `${listening.events.url}/`,
    cloudEvent: `${listening.cloudEvent.url}/`,
    signup: `${listening.signup.url}/`,
    usageReport: `${listening.usageReport.url}/`,
  };
  const projectId = uniqueName('demo-gcp-stack');
  Object.assign(process.env, {
    STORE_BACKEND: 'firestore',
    FIRESTORE_PROJECT_ID: projectId,
    FIRESTORE_EMULATOR_HOST: firestoreEmulator().host,
    LOG_LEVEL: 'error',
    GCP_PROVIDER_ID: sim.gcp.providerId,
    PROCUREMENT_API_URL: sim.url,
    SERVICE_CONTROL_API_URL: sim.url,
    GOOGLE_CERTS_URL: sim.url,
    PUSH_AUDIENCE: urls.events,
    PUSH_SERVICE_ACCOUNT: sim.gcp.configurePush({}).pushServiceAccount,
    PRODUCT_DOMAINS: sim.gcp.productDomains.join(','),
    ONBOARDING_URL,
    HANDOFF_SECRET,
    USAGE_SERVICE_NAME,
    USAGE_METRICS: JSON.stringify(USAGE_METRICS),
    SCHEDULER_AUDIENCE: urls.usageReport,
    SCHEDULER_SERVICE_ACCOUNT,
    APPROVAL_POLICY: 'auto',
    APPROVAL_PLANS: '',
    ...env,
  });
  let servers: Servers | undefined;
  // A fresh module registry per stack: each function reads its configuration at cold start.
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    require('../../functions/gcp/events');
    require('../../functions/gcp/signup');
    require('../../functions/gcp/usage-report');
    const { getTestServer } = require('@google-cloud/functions-framework/testing') as {
      getTestServer: (name: string) => Server;
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    servers = {
      events: getTestServer('gcpEventsPush'),
      cloudEvent: getTestServer('gcpEventsCloudEvent'),
      signup: getTestServer('gcpSignup'),
      usageReport: getTestServer('gcpUsageReport'),
    };
  });
  for (const name of Object.keys(listening) as Array<keyof Servers>) {
    serveThrough(listening[name], servers![name]);
  }
  sim.gcp.configurePush({ pushEndpoint: urls.events, pushAudience: urls.events });
  const db = createFirestoreClient({ projectId });
  return {
    sim,
    store: createFirestoreStore(db),
    urls,
    stop: async () => {
      await Promise.all(Object.values(listening).map((server) => server.close()));
      await sim.stop();
      await db.terminate();
    },
  };
};

/** Posts Google's signup form to the signup function, as the buyer's browser does. */
export const postSignupForm = (stack: GcpStack, token: string): Promise<Response> =>
  fetch(stack.urls.signup, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ 'x-gcp-marketplace-token': token }).toString(),
    redirect: 'manual',
  });

/** Signs the buyer up and waits for what the approvals set off to be delivered. */
export const signUpAndSettle = async (stack: GcpStack, token: string): Promise<Response> => {
  const response = await postSignupForm(stack, token);
  await stack.sim.idle();
  return response;
};
