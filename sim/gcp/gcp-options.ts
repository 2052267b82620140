import type { RetryPolicy } from '../deliveries';
import type { DeliveryMode } from './pubsub-push';

/** How the Google half of the simulator is set up; every field has a local default. */
export interface GcpSimulatorOptions {
  /** The Partner Procurement provider id in every resource name. */
  readonly providerId?: string;
  /** Product domains: the default product (the first) and the `aud` of signup tokens. */
  readonly productDomains?: readonly string[];
  /** Where Pub/Sub pushes go; without one, messages are only recorded. */
  readonly pushEndpoint?: string;
  /** `aud` of push OIDC tokens; the push endpoint URL when unset, as Pub/Sub does. */
  readonly pushAudience?: string;
  /** `email` of push OIDC tokens. */
  readonly pushServiceAccount?: string;
  /** `projects/{project}/subscriptions/{name}` in the push body. */
  readonly subscription?: string;
  /** See `DeliveryMode`; `async` by default. */
  readonly deliver?: DeliveryMode;
  readonly retry?: Partial<RetryPolicy>;
  /** A push not answered within this counts as a nack (Pub/Sub's default ack deadline, 10 s). */
  readonly pushTimeoutMs?: number;
  /** ACCOUNT_* messages are sent only if account notifications are on for the product. */
  readonly accountNotifications?: boolean;
  /** Metric names Service Control knows; unset, any `<service>/<name>` is accepted. */
  readonly usageMetrics?: readonly string[];
}

export const GCP_DEFAULTS = {
  providerId: 'DEMO-local',
  productDomains: ['demo-product.endpoints.demo-local.cloud.goog'],
  pushServiceAccount: 'marketplace-push@demo-local.iam.gserviceaccount.com',
  subscription: 'projects/demo-local/subscriptions/marketplace-events',
  deliver: 'async',
  pushTimeoutMs: 10_000,
} as const;
