// deliverWebhooks --> (this sender) --> POST to the vendor's app, signed, with a timeout.
import type { Clock } from '../../ports/clock';
import type { WebhookRequest, WebhookResult, WebhookSender } from '../../ports/webhook-sender';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

/** The header naming the event, the same on every delivery of it: the vendor's dedupe key. */
export const EVENT_ID_HEADER = 'Marketplace-Event-Id';
export const WEBHOOK_USER_AGENT = 'marketplace-connector-webhooks/1';

export interface HttpWebhookSenderOptions {
  /** Every secret signs each webhook (one `v1` each), so secrets can rotate without a gap. */
  readonly secrets: readonly string[];
  /** How long one POST may take, connection included, before it counts as no answer. */
  readonly timeoutMs: number;
  /** Stamps the signature; the receiver checks it against its own clock. */
  readonly clock: Clock;
  /** Node's own `fetch` unless given. */
  readonly fetch?: typeof fetch;
}

/** A short reason for a request that got no status, without the URL or anything it returned. */
const describeNetworkError = (error: unknown): string => {
  const cause = error instanceof Error ? error.cause : undefined;
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)
    ? `connection failed (${code})`
    : 'connection failed';
};

/**
 * The webhook sender over Node's `fetch`. A redirect is not followed (the 3xx is the answer, and
 * a failure): following it would send the signed event somewhere the vendor did not configure.
 * The response body is never read, only released; the status is all delivery needs.
 */
export const createHttpWebhookSender = (options: HttpWebhookSenderOptions): WebhookSender => {
  const post = options.fetch ?? fetch;
  // Fails at cold start, not on the first event, when a secret is too short.
  signWebhook({ secrets: options.secrets, body: '', timestampSeconds: 0 });

  const send = async (request: WebhookRequest): Promise<WebhookResult> => {
    const signature = signWebhook({
      secrets: options.secrets,
      body: request.body,
      timestampSeconds: Math.floor(options.clock.now() / 1000),
    });
    const timeoutMs = Math.min(options.timeoutMs, request.timeoutMs ?? options.timeoutMs);
    const signal = AbortSignal.timeout(timeoutMs);
    // A duration, so a monotonic clock: wall-clock steps must not make latencies negative.
    const startedAt = performance.now();
    const latencyMs = () => Math.max(0, Math.round(performance.now() - startedAt));
    try {
      const response = await post(request.endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': WEBHOOK_USER_AGENT,
          [SIGNATURE_HEADER]: signature,
          [EVENT_ID_HEADER]: request.messageId,
        },
        body: request.body,
        redirect: 'manual',
        signal,
      });
      const answeredInMs = latencyMs();
      // Released unread: whatever the app answers is neither needed nor ours to keep.
      await response.body?.cancel().catch(() => undefined);
      return { kind: 'answered', statusCode: response.status, latencyMs: answeredInMs };
    } catch (error) {
      return signal.aborted
        ? {
            kind: 'no_answer',
            reason: 'timeout',
            error: `no answer within ${timeoutMs} ms`,
            latencyMs: latencyMs(),
          }
        : {
            kind: 'no_answer',
            reason: 'network',
            error: describeNetworkError(error),
            latencyMs: latencyMs(),
          };
    }
  };

  return { send };
};
