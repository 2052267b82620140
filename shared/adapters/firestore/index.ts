import { Firestore } from '@google-cloud/firestore';
import { ConfigError } from '../../domain/errors';
import type { StoreConfig } from '../../config/load-config';
import type { Store } from '../../ports/store';
import { createFirestoreStore } from './firestore-store';

export { createFirestoreStore } from './firestore-store';
export type { FirestoreStoreOptions } from './firestore-store';
export { FIRESTORE_INDEXES, firestoreIndexes } from './firestore-indexes';
export type {
  FirestoreCompositeIndex,
  FirestoreFieldOverride,
  FirestoreIndexes,
} from './firestore-indexes';

/**
 * A Firestore client for the store. The client itself reads `FIRESTORE_EMULATOR_HOST` (and then
 * talks plaintext to the emulator); without `projectId` it uses the runtime credentials' project.
 * `ignoreUndefinedProperties`: optional model fields are left out instead of failing the write.
 */
export const createFirestoreClient = (
  options: { projectId?: string; databaseId?: string } = {},
): Firestore =>
  new Firestore({
    ...(options.projectId ? { projectId: options.projectId } : {}),
    ...(options.databaseId ? { databaseId: options.databaseId } : {}),
    ignoreUndefinedProperties: true,
  });

/**
 * The store a Google function's configuration names. The Google bundles carry Firestore only,
 * so that they never pull in the AWS SDK.
 *
 * @throws ConfigError when the configuration names another store.
 */
export const createFirestoreStoreFromConfig = (store: StoreConfig): Store => {
  if (store.backend !== 'firestore') {
    throw new ConfigError([
      { variable: 'STORE_BACKEND', problem: 'must be firestore for the Google functions' },
    ]);
  }
  return createFirestoreStore(
    createFirestoreClient({ projectId: store.projectId, databaseId: store.databaseId }),
  );
};
