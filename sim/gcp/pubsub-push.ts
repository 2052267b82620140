import type { SimClock } from '../clock';
import { rfc3339 } from '../clock';
import type { DeliveryScheduler, RetryPolicy } from '../deliveries';
import { simError } from '../http/http-error';
import { postJson } from '../http/post-json';
import type { MessageLog, RecordedMessage } from '../messages';
import type { Random } from '../random';
import type { MarketplaceMessage } from './events';
import { mintOidcToken } from './oidc-tokens';
import type { KeyRing } from './signing-keys';

/**
 * The provider's push subscription on the marketplace topic: every published message is
 * recorded, then POSTed to the push endpoint as Pub/Sub does, with a Google-signed OIDC token.
 */

/**
 * - `sync`: a buyer action answers only once its messages' first push attempts are answered,
 *   so a test sees their effects right after the call;
 * - `async`: pushes run in the background;
 * - `manual`: messages wait until redelivered one by one (reordering tests).
 * Messages caused by a Procurement API call (an approval's ENTITLEMENT_ACTIVE) are always
 * pushed in the background: the caller is usually the push handler itself.
 */
export type DeliveryMode = 'sync' | 'async' | 'manual';

export interface PushConfig {
  /** Where pushes go; without one, messages are only recorded. */
  readonly pushEndpoint?: string;
  /** `aud` of the OIDC token: the push endpoint itself unless set, as Pub/Sub does. */
  readonly pushAudience?: string;
  /** `email` of the OIDC token. */
  readonly pushServiceAccount: string;
  /** `projects/{project}/subscriptions/{name}`, sent in the push body. */
  readonly subscription: string;
  readonly deliver: DeliveryMode;
}

export interface PubSubPushOptions {
  readonly clock: SimClock;
  readonly random: Random;
  readonly messages: MessageLog;
  readonly deliveries: DeliveryScheduler;
  readonly oidcKeys: KeyRing;
  readonly retry: RetryPolicy;
  /** How long a push may take before it counts as a nack (Pub/Sub's ack deadline). */
  readonly pushTimeoutMs: number;
  readonly config: PushConfig;
}

export interface PubSubPush {
  /** Records a message; nothing is sent until `dispatch`. */
  publish(payload: MarketplaceMessage): RecordedMessage;
  /**
   * Pushes messages in order, each after the previous one's first attempt was answered. A
   * buyer action in `sync` mode waits for that; everything else returns at once.
   */
  dispatch(messages: readonly RecordedMessage[], origin: 'buyer' | 'api'): Promise<void>;
  /** Pushes one recorded message (again), with a fresh token, and waits for the first answer. */
  redeliver(messageId: string): Promise<RecordedMessage>;
  config(): PushConfig;
  configure(changes: Partial<PushConfig>): PushConfig;
  /** The numeric id Google gives the push service account: the token's `sub` and `azp`. */
  readonly serviceAccountId: string;
}

export const PUBSUB_CHANNEL = 'pubsub-push';
// What Google's push requests identify themselves as.
const PUSH_USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';

export const createPubSubPush = (options: PubSubPushOptions): PubSubPush => {
  const { clock, random, messages, deliveries } = options;
  let config = options.config;
  let nextMessageId = BigInt(random.digits(16));
  const serviceAccountId = random.digits(21);

  const send = (message: RecordedMessage) => (signal: AbortSignal) => {
    const endpoint = config.pushEndpoint;
    if (!endpoint) return Promise.reject(new Error('no push endpoint is configured'));
    message.endpoint = endpoint;
    const token = mintOidcToken({
      key: options.oidcKeys.current(),
      audience: config.pushAudience ?? endpoint,
      email: config.pushServiceAccount,
      subject: serviceAccountId,
      nowSeconds: Math.floor(clock.nowMs() / 1000),
    });
    return postJson(endpoint, message.envelope, {
      headers: { authorization: `Bearer ${token}`, 'user-agent': PUSH_USER_AGENT },
      timeoutMs: options.pushTimeoutMs,
      signal,
    });
  };

  const deliverInOrder = async (batch: readonly RecordedMessage[]): Promise<void> => {
    for (const message of batch) {
      await deliveries.deliver(message, send(message), options.retry);
    }
  };

  return {
    serviceAccountId,
    publish: (payload) => {
      const messageId = String(nextMessageId);
      nextMessageId += 1n;
      const publishTime = rfc3339(clock.nowMs());
      const data = Buffer.from(JSON.stringify(payload)).toString('base64');
      // Real pushes repeat the id and time in snake case; receivers may read either.
      const envelope = {
        message: {
          data,
          attributes: {},
          messageId,
          message_id: messageId,
          publishTime,
          publish_time: publishTime,
        },
        subscription: config.subscription,
      };
      return messages.add({
        id: messageId,
        cloud: 'gcp',
        channel: PUBSUB_CHANNEL,
        eventType: payload.eventType,
        recordedAt: publishTime,
        payload,
        envelope,
        ...(config.pushEndpoint ? { endpoint: config.pushEndpoint } : {}),
        state: config.pushEndpoint ? 'held' : 'recorded',
        attempts: [],
      });
    },
    dispatch: async (batch, origin) => {
      if (!config.pushEndpoint || config.deliver === 'manual') return;
      const pushing = deliverInOrder(batch.filter((message) => message.state === 'held'));
      if (origin === 'buyer' && config.deliver === 'sync') await pushing;
    },
    redeliver: async (messageId) => {
      const message = messages.get('gcp', messageId);
      if (!message) throw simError(404, `message ${messageId} not found`);
      if (!config.pushEndpoint) {
        throw simError(
          409,
          'no push endpoint is configured: set one with POST /_sim/gcp/push-config',
        );
      }
      await deliveries.deliver(message, send(message), options.retry);
      return message;
    },
    config: () => config,
    configure: (changes) => {
      config = { ...config, ...changes };
      return config;
    },
  };
};
