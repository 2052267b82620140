import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError } from '../../domain/errors';
import type { StoreConfig } from '../../config/load-config';
import type { Store } from '../../ports/store';
import { createDynamoDbStore } from './dynamodb-store';

export { createDynamoDbStore } from './dynamodb-store';
export type { DynamoDbStoreOptions } from './dynamodb-store';
export { createTable, tableDefinition } from './table';

export interface DynamoDbClientOptions {
  readonly region?: string;
  /** An endpoint override, such as DynamoDB Local. */
  readonly endpoint?: string;
}

/** DynamoDB Local signs nothing it checks, but the SDK refuses to send unsigned requests. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** DynamoDB Local needs some region to sign with; any will do. */
const LOCAL_REGION = 'us-east-1';

const hasCredentialsInEnvironment = (): boolean =>
  Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE);

/**
 * The document client the store expects. `undefined` fields are dropped on write, because
 * the model's optional fields (personal data) are left unset rather than null.
 */
export const createDynamoDbDocumentClient = (
  options: DynamoDbClientOptions = {},
): DynamoDBDocumentClient => {
  const local = options.endpoint !== undefined && !hasCredentialsInEnvironment();
  const region = options.region ?? (local ? (process.env.AWS_REGION ?? LOCAL_REGION) : undefined);
  const client = new DynamoDBClient({
    ...(region === undefined ? {} : { region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
};

/** The store of the AWS functions, from their validated configuration. @throws ConfigError */
export const createDynamoDbStoreFromConfig = (store: StoreConfig): Store => {
  if (store.backend !== 'dynamodb') {
    throw new ConfigError([
      { variable: 'STORE_BACKEND', problem: 'must be dynamodb for the AWS functions' },
    ]);
  }
  return createDynamoDbStore(
    createDynamoDbDocumentClient({ region: store.region, endpoint: store.endpoint }),
    { tableName: store.tableName },
  );
};
