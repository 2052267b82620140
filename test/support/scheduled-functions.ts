import type { Server } from 'node:http';
import { join } from 'node:path';
import { createFirestoreClient, createFirestoreStore } from '../../shared/adapters/firestore';
import type { Store } from '../../shared/ports/store';
import { createSimulator } from '../../sim/server';
import { dynamoDbEndpoint, firestoreEmulator, uniqueName } from '../engines/engines';
import { listenOnLoopback, serveThrough } from './loopback';

const REPO_ROOT = join(__dirname, '..', '..');
export const SCHEDULER_SERVICE_ACCOUNT = 'scheduler@demo-local.iam.gserviceaccount.com';

type ScheduledHandler = (event?: unknown) => Promise<unknown>;

/**
 * An AWS scheduled function as Lambda starts it: its module read afresh (its cold start) on
 * `tableName` of DynamoDB Local, with `env` added to the environment. `source` is relative to
 * the repository root.
 */
export const loadAwsScheduledHandler = (
  source: string,
  tableName: string,
  env: Record<string, string>,
): ScheduledHandler => {
  Object.assign(process.env, {
    STORE_BACKEND: 'dynamodb',
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
    AWS_REGION: 'us-east-1',
    // Never real credentials: DynamoDB Local checks no signature.
    AWS_ACCESS_KEY_ID: 'AKIASIMULATOR000000',
    AWS_SECRET_ACCESS_KEY: 'simulated',
    LOG_LEVEL: 'error',
    ...env,
  });
  let handler: ScheduledHandler | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    handler = (require(join(REPO_ROOT, source)) as { handler: ScheduledHandler }).handler;
  });
  return handler!;
};

export interface GcpScheduledFunction {
  readonly url: string;
  /** The fresh Firestore project the function reads and writes. */
  readonly store: Store;
  /** POSTs as Cloud Scheduler would, with an OIDC token for `email`; `null`: no token. */
  call(email: string | null): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A Google scheduled function as deployed, on this machine: the Functions Framework serving
 * `entryPoint` of `source` on a real port, checking tokens the simulator signs as Google, on a
 * fresh Firestore project of the emulator; `env` is added to the environment of its cold start.
 */
export const startGcpScheduledFunction = async (
  source: string,
  entryPoint: string,
  env: Record<string, string>,
): Promise<GcpScheduledFunction> => {
  const sim = await createSimulator();
  const projectId = uniqueName('demo-scheduled');
  const listening = await listenOnLoopback();
  const url = `${listening.url}/`;
  Object.assign(process.env, {
    STORE_BACKEND: 'firestore',
    FIRESTORE_PROJECT_ID: projectId,
    FIRESTORE_EMULATOR_HOST: firestoreEmulator().host,
    GOOGLE_CERTS_URL: sim.url,
    SCHEDULER_AUDIENCE: url,
    SCHEDULER_SERVICE_ACCOUNT,
    LOG_LEVEL: 'error',
    ...env,
  });
  let server: Server | undefined;
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    require(join(REPO_ROOT, source));
    const { getTestServer } = require('@google-cloud/functions-framework/testing') as {
      getTestServer: (name: string) => Server;
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    server = getTestServer(entryPoint);
  });
  serveThrough(listening, server!);
  const db = createFirestoreClient({ projectId });
  return {
    url,
    store: createFirestoreStore(db),
    call: (email) =>
      fetch(url, {
        method: 'POST',
        headers:
          email === null
            ? {}
            : { authorization: `Bearer ${sim.gcp.oidcToken({ audience: url, email })}` },
      }),
    stop: async () => {
      await listening.close();
      await sim.stop();
      await db.terminate();
    },
  };
};
