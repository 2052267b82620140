import { createHash } from 'node:crypto';
import { z } from 'zod';
import { WEBHOOK_CLAIM_BATCH } from '../app/deliver-webhooks';
import type { WebhookEndpoint } from '../ports/webhook-sender';
import { collect, optionalList, parse, withDefault } from './env-schema';
import type { Env } from './env-schema';
import { loadCoreConfig } from './load-config';
import type { CoreConfig } from './load-config';

const HOUR_MS = 60 * 60 * 1000;
/** Plain http is for the machine's own receiver (tests, `npm start`): events carry purchases. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const MIN_SECRET_LENGTH = 32;

export interface WebhookConfig {
  /** Empty when `WEBHOOK_URLS` is unset: events then wait in the outbox for the vendor API. */
  readonly endpoints: readonly WebhookEndpoint[];
  /** Newest first; each signs every webhook. Empty only without endpoints. */
  readonly secrets: readonly string[];
  readonly timeoutMs: number;
  /** How long after it occurred an event is still retried. */
  readonly retryHorizonMs: number;
  /** How long a claimed event stays hidden from other runs (see {@link webhookLeaseMs}). */
  readonly leaseMs: number;
}

/**
 * An endpoint's id: the first 16 hex digits of the SHA-256 of its URL. Stable while the URL is,
 * short enough to store on every event, and safe to log where the URL (which may carry a token)
 * is not.
 */
export const webhookEndpointId = (url: string): string =>
  createHash('sha256').update(url).digest('hex').slice(0, 16);

/**
 * A run claims `WEBHOOK_CLAIM_BATCH` events at a time and, worst case, sends all of them (one
 * purchase's) one after the other, each waiting up to the timeout: the lease must outlast that,
 * or another run would pick the events up while they are still being sent.
 */
export const webhookLeaseMs = (timeoutMs: number): number =>
  Math.max(2 * 60_000, (WEBHOOK_CLAIM_BATCH + 2) * timeoutMs);

/** The URL as fetch sends it, so that two spellings of one URL count as one endpoint. */
const normalised = (url: string): string => (URL.canParse(url) ? new URL(url).href : url);

const webhookUrl = z.url('must list URLs').superRefine((value, ctx) => {
  if (!URL.canParse(value)) return;
  const url = new URL(value);
  const local = LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must list https URLs (http only for localhost, 127.0.0.1 or [::1])',
    });
  }
  // fetch refuses such URLs, and the password would end up wherever the URL is shown.
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry a user name or password' });
  }
});

const webhookSchema = z.object({
  WEBHOOK_URLS: optionalList.pipe(
    z.array(webhookUrl).refine((urls) => new Set(urls.map(normalised)).size === urls.length, {
      message: 'lists a URL twice',
    }),
  ),
  WEBHOOK_SECRETS: optionalList.pipe(
    z.array(
      z.string().min(MIN_SECRET_LENGTH, `must list secrets of ${MIN_SECRET_LENGTH}+ characters`),
    ),
  ),
  WEBHOOK_TIMEOUT_SECONDS: withDefault(
    '10',
    z.coerce
      .number('must be a number')
      .int('must be a whole number of seconds')
      .min(1, 'must be from 1 to 60')
      .max(60, 'must be from 1 to 60'),
  ),
  WEBHOOK_RETRY_HORIZON_HOURS: withDefault(
    '72',
    z.coerce
      .number('must be a number')
      .int('must be a whole number of hours')
      .min(1, 'must be from 1 to 720')
      .max(720, 'must be from 1 to 720'),
  ),
});

// Apart from the schema: zod skips an object's own checks once a field failed, and this one must
// be named together with the others.
const secretsSchema = z
  .object({ WEBHOOK_URLS: optionalList, WEBHOOK_SECRETS: optionalList })
  .refine((value) => value.WEBHOOK_URLS.length === 0 || value.WEBHOOK_SECRETS.length > 0, {
    path: ['WEBHOOK_SECRETS'],
    message: 'is required when WEBHOOK_URLS is set',
  });

/**
 * The webhook settings every function that writes needs (it tries to deliver what it wrote at
 * once) and the webhooks function runs on. Read once at cold start.
 *
 * @throws ConfigError naming every variable at fault, never a secret's value.
 */
export const loadWebhookConfig = (env: Env = process.env): WebhookConfig => {
  const value = collect([() => parse(webhookSchema, env), () => parse(secretsSchema, env)], () =>
    parse(webhookSchema, env),
  );
  const timeoutMs = value.WEBHOOK_TIMEOUT_SECONDS * 1000;
  return {
    endpoints: value.WEBHOOK_URLS.map((url) => {
      const href = normalised(url);
      return { id: webhookEndpointId(href), url: href };
    }),
    secrets: value.WEBHOOK_SECRETS,
    timeoutMs,
    retryHorizonMs: value.WEBHOOK_RETRY_HORIZON_HOURS * HOUR_MS,
    leaseMs: webhookLeaseMs(timeoutMs),
  };
};

export interface WebhookFunctionConfig extends CoreConfig {
  readonly webhooks: WebhookConfig;
}

/** Configuration of `vendor/webhooks`, read once at cold start. @throws ConfigError */
export const loadWebhookFunctionConfig = (
  env: Env = process.env,
  platform: 'aws' | 'gcp' = 'aws',
): WebhookFunctionConfig =>
  collect([() => loadCoreConfig(env, platform), () => loadWebhookConfig(env)], () => ({
    ...loadCoreConfig(env, platform),
    webhooks: loadWebhookConfig(env),
  }));
