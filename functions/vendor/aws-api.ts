// HTTP API (v2) ANY /v1/{proxy+} --> vendor API router (API key, route, use case) --> JSON.
// The vendor's app reads purchases, tenants and the event log, reports usage, links accounts.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createJsonLogger, systemClock } from '../../shared';
import { loadVendorApiConfig } from '../../shared/config/vendor-config';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';
import {
  createVendorApiDeps,
  createVendorApiRouter,
  httpApiResultOf,
  requestOfHttpApiEvent,
} from '../../shared/adapters/http/vendor-api';

const config = loadVendorApiConfig(process.env, 'aws');
const route = createVendorApiRouter(
  createVendorApiDeps({
    config,
    store: createDynamoDbStoreFromConfig(config.store),
    clock: systemClock,
    logger: createJsonLogger({ level: config.logLevel, fields: { function: 'aws-vendor-api' } }),
    newId: randomUUID,
  }),
);

/** Every answer, errors included, is the router's JSON: the function itself never throws. */
export const handler = async (
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> =>
  httpApiResultOf(
    await route(requestOfHttpApiEvent(event), { requestId: event.requestContext.requestId }),
  );
