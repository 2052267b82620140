import { randomUUID } from 'node:crypto';

export const ENGINES_KEY = '__marketplaceConnectorEngines';

export interface EnginesHandle {
  stop(): Promise<void>;
}

const required = (name: string): string => {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is unset: run integration tests through jest's global setup`);
  return value;
};

/** Where the global setup started DynamoDB Local. */
export const dynamoDbEndpoint = (): string => required('TEST_DYNAMODB_ENDPOINT');

/** Where the Firestore emulator listens, and whether it isolates transactions. */
export const firestoreEmulator = (): { host: string; isolatesTransactions: boolean } => ({
  host: required('TEST_FIRESTORE_EMULATOR_HOST'),
  isolatesTransactions: process.env.TEST_FIRESTORE_ISOLATES_TRANSACTIONS === 'true',
});

/** A name no other test file uses, so files share an engine without sharing data. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
