import { FirestoreServer } from '@firestore-emulator/server';
import { freePort } from './free-port';
import type { RunningEngine } from './dynamodb-local';

export interface RunningFirestore extends RunningEngine {
  /** `host:port`, the form `FIRESTORE_EMULATOR_HOST` takes. */
  readonly host: string;
  /** False: this emulator applies commits one by one but does not isolate transactions. */
  readonly isolatesTransactions: boolean;
}

/**
 * The Firestore emulator for tests and the local stack: Google's own when
 * `FIRESTORE_EMULATOR_HOST` is set (started by whoever set it), otherwise the in-process
 * `@firestore-emulator/server` on a free port.
 */
export const startFirestoreEmulator = async (
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningFirestore> => {
  const external = env.FIRESTORE_EMULATOR_HOST?.trim();
  if (external) {
    return {
      host: external,
      endpoint: `http://${external}`,
      isolatesTransactions: true,
      stop: async () => undefined,
    };
  }
  const port = await freePort();
  const server = new FirestoreServer();
  await server.start(port);
  return {
    host: `127.0.0.1:${port}`,
    endpoint: `http://127.0.0.1:${port}`,
    isolatesTransactions: false,
    stop: async () => server.stop(),
  };
};
