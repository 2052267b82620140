import { join } from 'node:path';
import { createDynamoDbDocumentClient, createTable } from '../../shared/adapters/dynamodb';
import { startDynamoDbLocal } from './dynamodb-local';
import { startFirestoreEmulator } from './firestore-emulator';

/**
 * `npm start`: the local stack. Today that is the storage engines with a ready table; the
 * simulator and the functions join it as they are built, and this prints which are missing.
 */
const TABLE_NAME = 'marketplace-connector';
const DATA_DIR = join(process.cwd(), '.local');

const main = async (): Promise<void> => {
  const dynamo = await startDynamoDbLocal({
    port: Number(process.env.DYNAMODB_LOCAL_PORT ?? 8000),
    dbPath: join(DATA_DIR, 'dynamodb'),
  });
  const client = createDynamoDbDocumentClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
  const created = await createTable(client, TABLE_NAME);
  const firestore = await startFirestoreEmulator(process.env);

  const lines = [
    'marketplace-connector local stack',
    `  DynamoDB Local      ${dynamo.endpoint}  (data in .local/dynamodb, table "${TABLE_NAME}"${created ? ', created now' : ''})`,
    `  Firestore emulator  ${firestore.host}${firestore.isolatesTransactions ? '' : '  (in-process, in memory)'}`,
    '',
    'Point a function or a script at it with:',
    `  STORE_BACKEND=dynamodb TABLE_NAME=${TABLE_NAME} DYNAMODB_ENDPOINT=${dynamo.endpoint} AWS_REGION=us-east-1`,
    `  STORE_BACKEND=firestore FIRESTORE_EMULATOR_HOST=${firestore.host} FIRESTORE_PROJECT_ID=demo-local`,
    '',
    'Not built yet: the marketplace simulator, the Google and AWS functions, the vendor API.',
    'They will start here, with the address to open in a browser.',
    '',
    'local stack ready; Ctrl-C stops it',
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
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
