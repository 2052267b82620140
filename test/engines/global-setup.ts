import { startDynamoDbLocal } from '../../infra/local/dynamodb-local';
import { startFirestoreEmulator } from '../../infra/local/firestore-emulator';
import { ENGINES_KEY } from './engines';
import type { EnginesHandle } from './engines';

/**
 * Starts the storage engines once for the whole integration run. Test files read where they
 * are from the environment, which jest's workers inherit.
 */
export default async function globalSetup(): Promise<void> {
  // The Firestore client otherwise probes for a Google Cloud metadata server on every start.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const [dynamo, firestore] = await Promise.all([
    startDynamoDbLocal(),
    startFirestoreEmulator(process.env),
  ]);
  process.env.TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  process.env.TEST_FIRESTORE_EMULATOR_HOST = firestore.host;
  process.env.TEST_FIRESTORE_ISOLATES_TRANSACTIONS = String(firestore.isolatesTransactions);
  (globalThis as Record<string, unknown>)[ENGINES_KEY] = {
    stop: async () => {
      await Promise.all([dynamo.stop(), firestore.stop()]);
    },
  } satisfies EnginesHandle;
}
