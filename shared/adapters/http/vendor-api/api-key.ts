import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_ID_PATTERN, API_SCOPES } from '../../../config/vendor-config';
import type { ApiKeyEntry, ApiScope } from '../../../config/vendor-config';
import { ApiErrorCode, VendorApiError } from './api-error';

/**
 * API keys: `mck_<key id>_<secret>`, the secret 32 random bytes in base64url (43 characters,
 * which may themselves hold `_` and `-`). The id says which configured key to check and names
 * the caller in logs and the audit; only the SHA-256 of the whole key is configured.
 */

const PREFIX = 'mck_';
const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** The longest `Authorization` value worth looking at: a key is under 120 characters. */
const MAX_CREDENTIALS_LENGTH = 256;

/** Who called, once the key checked out. */
export interface ApiCaller {
  readonly keyId: string;
  readonly scopes: ReadonlySet<ApiScope>;
}

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key).digest();

/** The `VENDOR_API_KEYS` entry of a key: `<key id>:<scope>[+<scope>]:<SHA-256 hex>`. */
export const apiKeyEntryText = (keyId: string, scopes: readonly ApiScope[], key: string): string =>
  `${keyId}:${scopes.join('+')}:${hashApiKey(key).toString('hex')}`;

/**
 * A new key and its configuration entry. The key is shown once and kept by the vendor's app;
 * the entry, which holds only its hash, goes into `VENDOR_API_KEYS`.
 *
 * @throws RangeError for a key id or scopes the configuration would refuse.
 */
export const newApiKey = (
  keyId: string,
  scopes: readonly ApiScope[],
  random: (bytes: number) => Buffer = randomBytes,
): { readonly key: string; readonly entry: string } => {
  if (!API_KEY_ID_PATTERN.test(keyId)) {
    throw new RangeError('the key id must be 1 to 64 letters, digits, "." or "-"');
  }
  if (
    scopes.length === 0 ||
    new Set(scopes).size !== scopes.length ||
    scopes.some((scope) => !API_SCOPES.includes(scope))
  ) {
    throw new RangeError(`the scopes must be one or more of ${API_SCOPES.join(', ')}, each once`);
  }
  const key = `${PREFIX}${keyId}_${random(SECRET_BYTES).toString('base64url')}`;
  return { key, entry: apiKeyEntryText(keyId, scopes, key) };
};

/** The key id a well-formed key names, or `null`. */
export const keyIdOf = (key: string): string | null => {
  if (!key.startsWith(PREFIX)) return null;
  const separator = key.indexOf('_', PREFIX.length);
  if (separator < 0) return null;
  const keyId = key.slice(PREFIX.length, separator);
  const secret = key.slice(separator + 1);
  return API_KEY_ID_PATTERN.test(keyId) && SECRET_PATTERN.test(secret) ? keyId : null;
};

const unauthorized = (missing: boolean): VendorApiError =>
  new VendorApiError(
    401,
    ApiErrorCode.unauthorized,
    missing
      ? 'an API key is required: send Authorization: Bearer <key>'
      : 'the API key is not valid',
    {
      headers: {
        'www-authenticate': missing
          ? 'Bearer realm="vendor-api"'
          : 'Bearer realm="vendor-api", error="invalid_token"',
      },
    },
  );

/**
 * Checks `Authorization: Bearer <key>` against the configured keys.
 *
 * The key's SHA-256 is compared with `timingSafeEqual`; an unknown key id is compared with a
 * random hash all the same, so that neither the answer nor its timing tells an unknown id from
 * a wrong secret.
 *
 * @throws VendorApiError 401 for a missing, malformed, unknown or wrong key.
 */
export const createApiKeyAuthenticator = (entries: readonly ApiKeyEntry[]) => {
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  const decoy = randomBytes(32);
  return (authorization: string | undefined): ApiCaller => {
    if (authorization === undefined || authorization.trim() === '') throw unauthorized(true);
    const match =
      authorization.length <= MAX_CREDENTIALS_LENGTH
        ? /^Bearer +(\S+) *$/i.exec(authorization)
        : null;
    const key = match?.[1] ?? '';
    const keyId = keyIdOf(key);
    const entry = keyId === null ? undefined : byId.get(keyId);
    const matches = timingSafeEqual(hashApiKey(key), entry?.sha256 ?? decoy);
    if (!entry || !matches) throw unauthorized(false);
    return { keyId: entry.id, scopes: entry.scopes };
  };
};

/** @throws VendorApiError 403 when the caller's key lacks `scope`. */
export const requireScope = (caller: ApiCaller, scope: ApiScope): void => {
  if (caller.scopes.has(scope)) return;
  throw new VendorApiError(
    403,
    ApiErrorCode.forbidden,
    `this API key lacks the scope "${scope}" this request needs`,
    {
      headers: {
        'www-authenticate': `Bearer realm="vendor-api", error="insufficient_scope", scope="${scope}"`,
      },
    },
  );
};
