// Serves Lambda handlers over local HTTP in the shapes AWS invokes them with: an API Gateway
// HTTP API (payload 2.0) event per request, and an SQS event POSTed by the simulator's queue.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

/** API Gateway's payload limit: a larger request never reaches the function. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** HTTP APIs pass text as is and base64-encode the rest (forms and multipart included). */
const isText = (contentType: string | undefined): boolean =>
  /^(text\/|application\/(json|xml|javascript))/i.test(contentType ?? '');

/** The HTTP API (payload format 2.0) event API Gateway builds for this request. */
export const httpApiEventOf = (req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') {
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  const base64 = body.length > 0 && !isText(headers['content-type']);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(url.search
      ? { queryStringParameters: Object.fromEntries(url.searchParams.entries()) }
      : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${url.pathname}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString(base64 ? 'base64' : 'utf8') } : {}),
    isBase64Encoded: base64,
  };
};

const send = (res: ServerResponse, result: APIGatewayProxyResultV2): void => {
  if (typeof result === 'string') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(result);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = result.body ?? '';
  res
    .writeHead(result.statusCode ?? 200, headers)
    .end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
};

/** An HTTP server that invokes `handler` as an HTTP API would, for every request. */
export const serveHttpApi = (handler: HttpApiHandler): Server =>
  createServer((req, res) => {
    readBody(req)
      .then((body) => handler(httpApiEventOf(req, body)))
      .then((result) => send(res, result))
      .catch(() => {
        // As API Gateway does when the function fails: no internals.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"message":"Internal Server Error"}');
      });
  });

/**
 * The endpoint the simulator's queue POSTs SQS events to, answering the function's
 * `batchItemFailures` as Lambda's event source mapping reads them.
 */
export const serveSqsHandler = (handler: SqsHandler): Server =>
  createServer((req, res) => {
    readBody(req)
      .then((body) => handler(JSON.parse(body.toString('utf8')) as SQSEvent))
      .then((result) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(result ?? { batchItemFailures: [] })),
      )
      .catch(() => {
        // A function error fails the whole batch.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"errorType":"FunctionError"}');
      });
  });
