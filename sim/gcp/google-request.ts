import type { SimRequest } from '../http/types';
import { invalidArgument, unauthenticated } from './google-errors';

/**
 * Request checks every Google API route shares: a bearer credential, and no field or query
 * parameter the method does not define. Google rejects unknown names outright, which is how a
 * client that puts body fields in the query string (a bug the reference notes in one sample)
 * finds out.
 */

// System parameters every Google API accepts on any method.
const SYSTEM_PARAMETERS = new Set([
  'alt',
  'prettyPrint',
  'fields',
  'key',
  'quotaUser',
  '$.xgafv',
  'access_token',
  'oauth_token',
  'callback',
  'upload_protocol',
  'uploadType',
]);

/** Any non-empty bearer token (header or `access_token` parameter) passes, as locally nothing is checked. */
export const requireBearer = (request: SimRequest): void => {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)/i.exec(header)?.[1];
  if (!bearer && !request.url.searchParams.get('access_token')) throw unauthenticated();
};

export const checkQuery = (request: SimRequest, allowed: readonly string[]): void => {
  for (const name of request.url.searchParams.keys()) {
    if (!SYSTEM_PARAMETERS.has(name) && !allowed.includes(name)) {
      throw invalidArgument(
        `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
      );
    }
  }
};

export type FieldType = 'string' | 'boolean' | 'object' | 'array' | 'any';

/**
 * The JSON body as an object whose fields are all known and of the declared type. An empty
 * body is `{}` (clients send none for `:reset`).
 */
export const readBody = async (
  request: SimRequest,
  fields: Readonly<Record<string, FieldType>>,
): Promise<Record<string, unknown>> => {
  const body = (await request.json()) ?? {};
  if (typeof body !== 'object' || Array.isArray(body) || body === null) {
    throw invalidArgument('Invalid JSON payload received. Expected an object.');
  }
  const record = body as Record<string, unknown>;
  for (const [name, value] of Object.entries(record)) {
    const type = fields[name];
    if (!type) {
      throw invalidArgument(
        `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`,
      );
    }
    if (value === null || type === 'any') continue;
    const actual = Array.isArray(value) ? 'array' : typeof value;
    if (actual !== type) {
      throw invalidArgument(
        `Invalid value at '${name}' (${type.toUpperCase()}), ${JSON.stringify(value)}`,
      );
    }
  }
  return record;
};

export const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;
