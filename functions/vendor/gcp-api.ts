// HTTPS (Cloud Run function, public, API key) --> vendor API router (route, use case) --> JSON.
// The vendor's app reads purchases, tenants and the event log, reports usage, links accounts.
import { randomUUID } from 'node:crypto';
import * as functions from '@google-cloud/functions-framework';
import { createJsonLogger, systemClock } from '../../shared';
import { loadVendorApiConfig } from '../../shared/config/vendor-config';
import { createFirestoreStoreFromConfig } from '../../shared/adapters/firestore';
import {
  createVendorApiDeps,
  createVendorApiRouter,
  requestOfFunctionsFramework,
  sendFunctionsFrameworkResponse,
} from '../../shared/adapters/http/vendor-api';

const config = loadVendorApiConfig(process.env, 'gcp');
const route = createVendorApiRouter(
  createVendorApiDeps({
    config,
    store: createFirestoreStoreFromConfig(config.store),
    clock: systemClock,
    logger: createJsonLogger({ level: config.logLevel, fields: { function: 'gcp-vendor-api' } }),
    newId: randomUUID,
  }),
);

// The Functions Framework reads and parses every body before the function runs (keeping its
// bytes as `rawBody`), with no supported way to skip that: a body it cannot parse never reaches
// the function, the framework answers 400, 413 or 415 itself, as the API reference says.
functions.http('gcpVendorApi', async (req, res) => {
  const request = await requestOfFunctionsFramework(req, config.maxRequestBytes);
  const requestId = req.get('x-cloud-trace-context')?.split('/')[0] || randomUUID();
  sendFunctionsFrameworkResponse(res, await route(request, { requestId }));
});
