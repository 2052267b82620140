import { z } from 'zod';
import { blankToUndefined, collect, parse, withDefault } from './env-schema';
import type { Env } from './env-schema';
import { loadCoreConfig } from './load-config';
import type { CoreConfig } from './load-config';
import { loadUsageIngestConfig } from './usage-config';
import type { UsageIngestConfig } from './usage-config';
import { loadWebhookConfig } from './webhook-config';
import type { WebhookConfig } from './webhook-config';

/**
 * What an API key may do. Independent of each other, so that a key holds only what its caller
 * needs: `admin` does not imply `read`.
 * - `read`: entitlements, tenants, the event log and usage hours;
 * - `usage:write`: report usage;
 * - `admin`: link and unlink accounts, replay events.
 */
export const API_SCOPES = ['read', 'usage:write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/**
 * A key id: it names the key in `mck_<key id>_<secret>`, in logs and in the audit, so it is
 * short, printable and free of the separators of the key (`_`) and of `VENDOR_API_KEYS` (`:`, `,`).
 */
export const API_KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** One configured key: never the key itself, only the SHA-256 of the whole key. */
export interface ApiKeyEntry {
  readonly id: string;
  readonly scopes: ReadonlySet<ApiScope>;
  /** 32 bytes. */
  readonly sha256: Buffer;
}

const ENTRY_FORMAT = 'must be <key id>:<scope>[+<scope>]:<SHA-256 hex of the key>';

/**
 * One `VENDOR_API_KEYS` entry, or why not. The id is what comes before the first colon and the
 * hash what comes after the last: the scope `usage:write` has a colon of its own. A message never
 * quotes the hash, nor an id that does not look like one (it could be a pasted key).
 */
const parseEntry = (text: string, position: number): ApiKeyEntry | string => {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return `entry ${position} ${ENTRY_FORMAT}`;
  const id = text.slice(0, first);
  if (!API_KEY_ID_PATTERN.test(id)) {
    return `entry ${position} has an invalid key id (1 to 64 letters, digits, "." or "-")`;
  }
  const named = `entry ${position} (key id "${id}")`;
  const scopes = text.slice(first + 1, last).split('+');
  const unknown = scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0 || scopes.length === 0) {
    return `${named} names an unknown scope: scopes are ${API_SCOPES.join(', ')}, joined by +`;
  }
  if (new Set(scopes).size !== scopes.length) return `${named} repeats a scope`;
  const hash = text.slice(last + 1);
  if (!SHA256_HEX.test(hash)) {
    return `${named} must end with the SHA-256 of the key as 64 hex digits (npm run api-key prints it)`;
  }
  return {
    id,
    scopes: new Set(scopes as ApiScope[]),
    sha256: Buffer.from(hash, 'hex'),
  };
};

/** `VENDOR_API_KEYS`: comma-separated entries, at least one, each key id once. */
export const apiKeysSchema = z.preprocess(
  blankToUndefined,
  z.string('is required').transform((value, ctx): ApiKeyEntry[] => {
    const texts = value.split(',').map((item) => item.trim());
    const entries: ApiKeyEntry[] = [];
    texts.forEach((text, index) => {
      const parsed = text === '' ? `entry ${index + 1} is empty` : parseEntry(text, index + 1);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      else entries.push(parsed);
    });
    const seen = new Set<string>();
    for (const entry of entries) {
      if (seen.has(entry.id)) {
        ctx.addIssue({ code: 'custom', message: `lists key id "${entry.id}" twice` });
      }
      seen.add(entry.id);
    }
    return entries;
  }),
);

/**
 * The largest body that reaches the function, per cloud, so that a larger `MAX_REQUEST_BYTES`
 * cannot promise what the platform refuses before our code runs:
 * - AWS: Lambda takes a synchronous event of at most 6 MB (API Gateway's own 10 MB never
 *   applies), and the body travels inside it escaped as JSON text or base64-encoded (4/3 of
 *   its size), so 4 MiB is what reaches the function whatever the body, headers included;
 * - Google Cloud: Cloud Run refuses HTTP/1 requests over 32 MiB.
 */
export const MAX_REQUEST_BYTES_LIMITS = {
  aws: 4 * 1024 * 1024,
  gcp: 32 * 1024 * 1024,
} as const satisfies Record<'aws' | 'gcp', number>;

const vendorApiSchema = (platform: 'aws' | 'gcp') => {
  const limit = MAX_REQUEST_BYTES_LIMITS[platform];
  const range = `must be from 1024 to ${limit} (the most that reaches the function on ${platform === 'aws' ? 'AWS Lambda' : 'Cloud Run'})`;
  return z.object({
    VENDOR_API_KEYS: apiKeysSchema,
    MAX_REQUEST_BYTES: withDefault(
      '1048576',
      z.coerce
        .number('must be a number')
        .int('must be a whole number of bytes')
        .min(1024, range)
        .max(limit, range),
    ),
  });
};

export interface VendorApiConfig extends CoreConfig {
  readonly apiKeys: readonly ApiKeyEntry[];
  /**
   * The largest request body read; larger ones are answered 413. At most what reaches the
   * function on the platform (see {@link MAX_REQUEST_BYTES_LIMITS}).
   */
  readonly maxRequestBytes: number;
  /** What `POST /v1/usage` takes in, as the metering functions will send it. */
  readonly usage: UsageIngestConfig;
  /** The API's writes (link, unlink) try to deliver the events they wrote at once. */
  readonly webhooks: WebhookConfig;
}

/**
 * Configuration of `vendor/api`, read once at cold start.
 *
 * @param platform - the cloud the function runs on; it picks the default store and the only
 *   cloud whose usage `POST /v1/usage` takes.
 * @throws ConfigError naming every variable at fault, never a key's hash.
 */
export const loadVendorApiConfig = (
  env: Env = process.env,
  platform: 'aws' | 'gcp' = 'aws',
): VendorApiConfig =>
  collect(
    [
      () => loadCoreConfig(env, platform),
      () => parse(vendorApiSchema(platform), env),
      () => loadUsageIngestConfig(env, [platform]),
      () => loadWebhookConfig(env),
    ],
    () => {
      const value = parse(vendorApiSchema(platform), env);
      return {
        ...loadCoreConfig(env, platform),
        apiKeys: value.VENDOR_API_KEYS,
        maxRequestBytes: value.MAX_REQUEST_BYTES,
        usage: loadUsageIngestConfig(env, [platform]),
        webhooks: loadWebhookConfig(env),
      };
    },
  );
