import { Firestore } from '@google-cloud/firestore';

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
