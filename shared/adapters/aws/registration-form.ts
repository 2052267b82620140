import { z } from 'zod';
import { ValidationError } from '../../domain/errors';
import { byteLength } from '../../domain/limits';

/** The field AWS Marketplace posts to the fulfillment URL. */
export const REGISTRATION_TOKEN_FIELD = 'x-amzn-marketplace-token';
/** Added for free trials, with the value `free-trial`. */
export const OFFER_TYPE_FIELD = 'x-amzn-marketplace-offer-type';
/** The registration form is two short fields; anything much larger is not from AWS. */
export const MAX_REGISTRATION_BODY_BYTES = 64 * 1024;
export const MAX_REGISTRATION_TOKEN_BYTES = 4 * 1024;
/** A browser sends two or three parts; more is not a registration form. */
const MAX_MULTIPART_PARTS = 32;

/** What the buyer's browser posted, read from an API Gateway HTTP API (v2) event. */
export interface RegistrationForm {
  /**
   * Opaque, valid for a few hours, resolved with ResolveCustomer at once. Never log it; the
   * logger redacts keys named like `token`, so keep this name when passing it around.
   */
  readonly registrationToken: string;
  /** `x-amzn-marketplace-offer-type=free-trial` was posted. */
  readonly freeTrial: boolean;
  /** The posted offer type, if any, as sent. */
  readonly offerType: string | null;
}

/** The fields of an `APIGatewayProxyEventV2` this parser reads. */
export interface RegistrationRequest {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean | null;
}

const requestSchema = z
  .object({
    headers: z.record(z.string(), z.string().optional()).nullish(),
    body: z.string().nullish(),
    isBase64Encoded: z.boolean().nullish(),
  })
  .loose();

// Control characters (C0, DEL, C1) never belong in a token and break what they reach.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// RFC 2046: 1 to 70 of these, not ending in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const CRLF = Buffer.from('\r\n');
const OFFER_TYPE = /^[\x21-\x7e]{1,64}$/;
/** One `name=value` or `name="quoted \" value"` header parameter. */
const PARAM = /^\s*([^=\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/;

const headerOf = (
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1] ?? undefined;

/** `type/subtype; a=b; c="d"` as the lower-cased media type and its parameters. */
const parseHeaderValue = (
  value: string,
): { readonly value: string; readonly params: ReadonlyMap<string, string> } => {
  const [head = '', ...rest] = value.split(';');
  const params = new Map<string, string>();
  // Parameters are split on `;` outside quotes.
  for (const raw of rest.join(';').match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const match = PARAM.exec(raw);
    if (!match?.[1]) continue;
    const quoted = match[2]?.replace(/\\(.)/g, '$1');
    params.set(match[1].toLowerCase(), quoted ?? match[3] ?? '');
  }
  return { value: head.trim().toLowerCase(), params };
};

/** The raw body bytes, decoded from base64 when API Gateway encoded it. */
const bodyBytes = (body: string, isBase64Encoded: boolean): Buffer => {
  if (!isBase64Encoded) {
    if (byteLength(body) > MAX_REGISTRATION_BODY_BYTES) throw tooLarge();
    return Buffer.from(body, 'utf8');
  }
  // Checked before decoding so an oversized body is never decoded.
  if (body.length > Math.ceil(MAX_REGISTRATION_BODY_BYTES / 3) * 4) throw tooLarge();
  if (body.length % 4 !== 0 || !BASE64.test(body)) {
    throw new ValidationError('body is marked base64 but is not', { path: 'body' });
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_REGISTRATION_BODY_BYTES) throw tooLarge();
  return bytes;
};

const tooLarge = () =>
  new ValidationError(`body is larger than ${MAX_REGISTRATION_BODY_BYTES} bytes`, {
    path: 'body',
  });

const malformedMultipart = (reason: string) =>
  new ValidationError(`multipart body is malformed: ${reason}`, { path: 'body' });

/** One part's headers (`Name: value` lines) by lower-cased name. */
const partHeaders = (block: string): Map<string, string> => {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformedMultipart('a part header has no name');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
};

/**
 * A small multipart/form-data reader (RFC 7578) for a body already held in memory and capped
 * at 64 KB: the text fields by name. File parts are skipped; a missing closing delimiter, a
 * part without a name, or too many parts is an error.
 */
const parseMultipart = (body: Buffer, boundary: string): Map<string, string[]> => {
  // With a CRLF in front, every delimiter (the first one too) reads `CRLF--boundary`.
  const data = Buffer.concat([CRLF, body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const fields = new Map<string, string[]>();
  let at = data.indexOf(delimiter);
  if (at < 0) throw malformedMultipart('no boundary delimiter');
  for (let parts = 0; ; parts += 1) {
    let start = at + delimiter.length;
    if (data.subarray(start, start + 2).toString('latin1') === '--') return fields;
    if (parts >= MAX_MULTIPART_PARTS) throw malformedMultipart('too many parts');
    // Transport padding (spaces, tabs) may follow a delimiter, then a CRLF.
    while (data[start] === 0x20 || data[start] === 0x09) start += 1;
    if (data.subarray(start, start + 2).toString('latin1') !== '\r\n') {
      throw malformedMultipart('a delimiter is not followed by a line break');
    }
    start += 2;
    const end = data.indexOf(delimiter, start);
    if (end < 0) throw malformedMultipart('no closing delimiter');
    const part = data.subarray(start, end);
    // A part with no headers starts with its blank line directly.
    const blank = part.subarray(0, 2).equals(CRLF) ? 0 : part.indexOf('\r\n\r\n');
    if (blank < 0) throw malformedMultipart('a part has no blank line after its headers');
    const headers = partHeaders(part.subarray(0, blank).toString('utf8'));
    const content = part.subarray(blank === 0 ? 2 : blank + 4);
    const disposition = parseHeaderValue(headers.get('content-disposition') ?? '');
    const name = disposition.params.get('name');
    if (disposition.value !== 'form-data' || !name) {
      throw malformedMultipart('a part is not a named form-data field');
    }
    if (!disposition.params.has('filename')) {
      fields.set(name, [...(fields.get(name) ?? []), content.toString('utf8')]);
    }
    at = end;
  }
};

const parseUrlEncoded = (body: Buffer): Map<string, string[]> => {
  const fields = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return fields;
};

const formFields = (contentType: string | undefined, body: Buffer): Map<string, string[]> => {
  // A browser always names the encoding; a bare client posting `a=b` means url-encoded.
  const { value: mediaType, params } = parseHeaderValue(
    contentType ?? 'application/x-www-form-urlencoded',
  );
  if (mediaType === 'application/x-www-form-urlencoded') return parseUrlEncoded(body);
  if (mediaType === 'multipart/form-data') {
    const boundary = params.get('boundary');
    if (!boundary || !BOUNDARY.test(boundary)) {
      throw new ValidationError('multipart/form-data needs a valid boundary', {
        path: 'headers.content-type',
      });
    }
    return parseMultipart(body, boundary);
  }
  throw new ValidationError(`content-type ${mediaType || '(empty)'} is not a form encoding`, {
    path: 'headers.content-type',
  });
};

/** The one value of a field, or `undefined`; a field sent twice is ambiguous. */
const single = (fields: Map<string, string[]>, name: string): string | undefined => {
  const values = fields.get(name) ?? [];
  if (values.length > 1) {
    throw new ValidationError(`${name} is sent more than once`, { path: `body.${name}` });
  }
  return values[0];
};

/**
 * Reads the form AWS Marketplace makes the buyer's browser POST to the fulfillment URL:
 * url-encoded or multipart/form-data (AWS documents only "form data"), base64-decoded when
 * API Gateway encoded the body.
 *
 * @throws ValidationError naming the problem and never quoting the token: no body, a body over
 * 64 KB, an unknown encoding, a malformed multipart body, or a token that is missing, over
 * 4 KB, sent twice or holding control characters.
 */
export const parseRegistrationForm = (request: RegistrationRequest): RegistrationForm => {
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join('.') || 'request';
    throw new ValidationError('the request is not an API Gateway HTTP API event', { path });
  }
  const { headers, body, isBase64Encoded } = parsed.data;
  if (!body) throw new ValidationError('body is empty', { path: 'body' });
  const fields = formFields(
    headerOf(headers ?? {}, 'content-type'),
    bodyBytes(body, isBase64Encoded ?? false),
  );

  const token = single(fields, REGISTRATION_TOKEN_FIELD);
  const path = `body.${REGISTRATION_TOKEN_FIELD}`;
  if (!token) throw new ValidationError(`${REGISTRATION_TOKEN_FIELD} is missing`, { path });
  if (byteLength(token) > MAX_REGISTRATION_TOKEN_BYTES) {
    throw new ValidationError(
      `${REGISTRATION_TOKEN_FIELD} is longer than ${MAX_REGISTRATION_TOKEN_BYTES} bytes`,
      { path },
    );
  }
  if (CONTROL_CHARACTERS.test(token)) {
    throw new ValidationError(`${REGISTRATION_TOKEN_FIELD} contains control characters`, {
      path,
    });
  }
  // Only informative: an odd value must not stop a buyer's registration, so it is dropped.
  const sent = single(fields, OFFER_TYPE_FIELD);
  const offerType = sent !== undefined && OFFER_TYPE.test(sent) ? sent : null;
  return { registrationToken: token, freeTrial: offerType === 'free-trial', offerType };
};
