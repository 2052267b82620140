import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import {
  createDynamoDbDocumentClient,
  createDynamoDbStore,
  createTable,
} from '../../shared/adapters/dynamodb';
import { createFirestoreClient, createFirestoreStore } from '../../shared/adapters/firestore';
import type { StoreUnderTest } from '../../shared/test/store-contract';
import { dynamoDbEndpoint, firestoreEmulator, uniqueName } from '../engines/engines';

/** A fresh table on the DynamoDB Local that jest's global setup started. */
export const freshDynamoDbTable = async () => {
  const client = createDynamoDbDocumentClient({
    endpoint: dynamoDbEndpoint(),
    region: 'us-east-1',
  });
  const tableName = uniqueName('test');
  await createTable(client, tableName);
  return {
    client,
    tableName,
    store: createDynamoDbStore(client, { tableName }),
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
};

export const dynamoDbStoreUnderTest = async (): Promise<StoreUnderTest> => {
  const { store, drop } = await freshDynamoDbTable();
  return { store, isolatesTransactions: true, teardown: drop };
};

/** A fresh project on the Firestore emulator that jest's global setup started. */
export const firestoreStoreUnderTest = async (): Promise<StoreUnderTest> => {
  const emulator = firestoreEmulator();
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  const db = createFirestoreClient({ projectId: uniqueName('demo') });
  return {
    store: createFirestoreStore(db),
    isolatesTransactions: emulator.isolatesTransactions,
    teardown: async () => db.terminate(),
  };
};

/** Both engines, for suites that must hold on each. */
export const STORES_UNDER_TEST = [
  ['DynamoDB Local', dynamoDbStoreUnderTest],
  ['Firestore emulator', firestoreStoreUnderTest],
] as const;
