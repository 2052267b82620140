// HTTP API (v2) GET /health --> store round trip --> 200 | 503. For the vendor's monitoring.
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { ConfigError, createJsonLogger, loadCoreConfig } from '../../shared';
import { createDynamoDbDocumentClient, createDynamoDbStore } from '../../shared/adapters/dynamodb';

const config = loadCoreConfig(process.env, 'aws');
if (config.store.backend !== 'dynamodb') {
  throw new ConfigError([{ variable: 'STORE_BACKEND', problem: 'must be dynamodb on AWS' }]);
}
const store = createDynamoDbStore(
  createDynamoDbDocumentClient({ region: config.store.region, endpoint: config.store.endpoint }),
  { tableName: config.store.tableName },
);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'aws-health' } });

const json = (statusCode: number, body: unknown): APIGatewayProxyResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** Answers 200 when the store answers a read, 503 (and logs why) when it does not. */
export const handler = async (): Promise<APIGatewayProxyResultV2> => {
  try {
    await store.getEvent('aws', 'health-check');
    return json(200, { ok: true });
  } catch (error) {
    logger.error('store unreachable', { error });
    return json(503, { ok: false, error: 'store_unavailable' });
  }
};
