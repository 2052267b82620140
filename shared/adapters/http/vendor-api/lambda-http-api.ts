import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { headersOf, queryOf } from './http-exchange';
import type { VendorApiRequest, VendorApiResponse } from './http-exchange';

/**
 * The request an API Gateway HTTP API (payload format 2.0) event stands for. The body comes
 * base64-encoded unless API Gateway took it for text; either way the bytes are the ones sent.
 */
export const requestOfHttpApiEvent = (event: APIGatewayProxyEventV2): VendorApiRequest => {
  const stage = event.requestContext.stage;
  // A named stage prefixes the path; `$default` (the one deployed) does not.
  const path =
    stage && stage !== '$default' && event.rawPath.startsWith(`/${stage}/`)
      ? event.rawPath.slice(stage.length + 1)
      : event.rawPath;
  return {
    method: event.requestContext.http.method,
    path,
    query: queryOf(event.rawQueryString ?? ''),
    headers: headersOf(event.headers ?? {}),
    body:
      event.body === undefined || event.body === null
        ? Buffer.alloc(0)
        : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
  };
};

export const httpApiResultOf = (
  response: VendorApiResponse,
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: response.status,
  headers: { ...response.headers },
  body: response.body,
  isBase64Encoded: false,
});
