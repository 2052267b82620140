import { ApiErrorCode, VendorApiError } from './api-error';
import type { VendorApiRequest } from './http-exchange';
import { invalidRequest } from './validation';

/**
 * The edge of a request's body: its size, its media type and its JSON. Each check refuses with
 * the one error code that says what to fix.
 */

/**
 * @throws VendorApiError 413 when the body is larger than `maxBytes`, by its declared length (a
 * client told early) or by the bytes that came (a client whose header lied).
 */
export const assertBodySize = (request: VendorApiRequest, maxBytes: number): void => {
  const declared = request.headers['content-length'];
  const declaredBytes = declared !== undefined && /^[0-9]+$/.test(declared) ? Number(declared) : 0;
  if (declaredBytes > maxBytes || request.body.length > maxBytes) {
    throw new VendorApiError(
      413,
      ApiErrorCode.payloadTooLarge,
      `the request body is larger than ${maxBytes} bytes`,
    );
  }
};

const unsupported = (message: string): VendorApiError =>
  new VendorApiError(415, ApiErrorCode.unsupportedMediaType, message);

/** `application/json`, with no charset or UTF-8 (RFC 8259 allows nothing else). */
const assertJsonMediaType = (request: VendorApiRequest): void => {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    throw unsupported('compressed request bodies are not accepted; send plain JSON');
  }
  const [type = '', ...parameters] = (request.headers['content-type'] ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') {
    throw unsupported('the request body must be JSON, sent as Content-Type: application/json');
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (
      name.trim().toLowerCase() === 'charset' &&
      value.trim().replace(/^"|"$/g, '').toLowerCase() !== 'utf-8'
    ) {
      throw unsupported('the request body must be UTF-8 JSON');
    }
  }
};

const decoder = new TextDecoder('utf-8', { fatal: true });

const invalidJson = (): VendorApiError =>
  new VendorApiError(400, ApiErrorCode.invalidJson, 'the request body is not valid JSON');

/**
 * The JSON value of a route's body.
 *
 * @throws VendorApiError 415 for another media type or an encoded body; 400 `invalid_json` for
 * bytes that are not UTF-8 JSON.
 */
export const readJsonBody = (request: VendorApiRequest): unknown => {
  assertJsonMediaType(request);
  let text: string;
  try {
    text = decoder.decode(request.body);
  } catch {
    throw invalidJson();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Nesting deep enough to exhaust the parser's stack lands here too.
    throw invalidJson();
  }
};

/**
 * For a route that takes no body: nothing, or an empty JSON object (which some clients always
 * send). Anything else is refused rather than ignored, since the caller meant something by it.
 */
export const assertNoBody = (request: VendorApiRequest): void => {
  if (request.body.length === 0) return;
  const value = readJsonBody(request);
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    Object.keys(value).length > 0
  ) {
    throw invalidRequest('this request takes no body', [
      { path: 'body', message: 'must be empty or {}' },
    ]);
  }
};
