/**
 * The vendor API, cloud-neutral: a router of request to response that each platform's entry
 * point adapts its trigger to. The two platform adapters import only types of their platform.
 */
export { ApiErrorCode, VendorApiError } from './api-error';
export type { ApiErrorBody, ApiErrorDetail } from './api-error';
export {
  apiKeyEntryText,
  createApiKeyAuthenticator,
  hashApiKey,
  keyIdOf,
  newApiKey,
  requireScope,
} from './api-key';
export type { ApiCaller } from './api-key';
export { headersOf, queryOf } from './http-exchange';
export type { VendorApiRequest, VendorApiResponse } from './http-exchange';
export { httpApiResultOf, requestOfHttpApiEvent } from './lambda-http-api';
export {
  requestOfFunctionsFramework,
  sendFunctionsFrameworkResponse,
} from './functions-framework-http';
export { createVendorApiRouter, matchRoute, VENDOR_API_ROUTES } from './router';
export type { RouteMatch, VendorApiRouter } from './router';
export { decodePathParams, pathTemplate } from './route-path';
export type { PathTemplate } from './route-path';
export { createVendorApiDeps } from './vendor-api-deps';
export type { VendorApiDeps } from './vendor-api-deps';
