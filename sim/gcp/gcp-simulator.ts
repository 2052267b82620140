import { z } from 'zod';
import type { SimCloud, SimContext } from '../cloud';
import { DEFAULT_RETRY } from '../deliveries';
import type { RecordedMessage } from '../messages';
import { createRandom } from '../random';
import { buyerRoutes } from './buyer-routes';
import { certRoutes } from './cert-routes';
import type { GcpSimulatorOptions } from './gcp-options';
import { GCP_DEFAULTS } from './gcp-options';
import { resourceExhausted, unavailable } from './google-errors';
import { requireBearer } from './google-request';
import type {
  BuyerActionInput,
  BuyerEntitlementAction,
  PurchaseInput,
  PurchaseResult,
} from './marketplace';
import { createGcpMarketplace } from './marketplace';
import { mintOidcToken } from './oidc-tokens';
import { procurementRoutes } from './procurement-api';
import type { PushConfig } from './pubsub-push';
import { createPubSubPush } from './pubsub-push';
import { accountView, entitlementView } from './resource-views';
import type { CheckErrorCode } from './service-control';
import { CHECK_ERROR_CODES, serviceControlRoutes } from './service-control';
import type { SignupTokenForgery, SignupTokenOptions } from './signup-tokens';
import { forgeSignupToken, mintSignupToken } from './signup-tokens';
import type { SigningKey } from './signing-keys';
import { createKeyRing } from './signing-keys';
import type { BilledUsage, RejectedOperation } from './usage-ledger';
import { createUsageLedger } from './usage-ledger';

/** What tests reach directly, besides HTTP: the same operations and the keys behind the certs. */
export interface GcpSimulatorHandle {
  readonly providerId: string;
  readonly productDomains: readonly string[];
  /** The key signup tokens are signed with now (served at the robot x509 URL). */
  signupKey(): SigningKey;
  /** The key push and Scheduler OIDC tokens are signed with now (served at /oauth2/v1|v3/certs). */
  oidcKey(): SigningKey;

  /** `POST /_sim/gcp/purchase`: in `sync` mode resolves once the pushes were answered. */
  purchase(
    input: PurchaseInput,
  ): Promise<Omit<PurchaseResult, 'published'> & { messageIds: string[] }>;
  /** `POST /_sim/gcp/entitlements/{id}/{action}`. */
  buyerAction(
    entitlementId: string,
    action: BuyerEntitlementAction,
    input?: BuyerActionInput,
  ): Promise<{ messageIds: string[] }>;
  /** `POST /_sim/gcp/accounts/{id}/delete`. */
  deleteAccount(accountId: string): Promise<{ messageIds: string[] }>;

  /** The API's JSON for an account or entitlement, `undefined` once gone. */
  account(accountId: string): Record<string, unknown> | undefined;
  entitlement(entitlementId: string): Record<string, unknown> | undefined;
  /** Pub/Sub messages published so far, oldest first. */
  messages(): readonly RecordedMessage[];
  usageReports(): readonly BilledUsage[];
  rejectedUsageReports(): readonly RejectedOperation[];

  /** A fresh signup token for the account; `overrides` replace any part (claims, header, time). */
  signupToken(accountId: string, overrides?: Partial<SignupTokenOptions>): string;
  /** A signup token for the account that a verifier must refuse. */
  forgeSignupToken(forgery: SignupTokenForgery, accountId: string): Promise<string>;
  /** A Google OIDC token as on pushes or Cloud Scheduler calls, signed with the served key. */
  oidcToken(options: { audience: string; email?: string; nowSeconds?: number }): string;

  configurePush(changes: Partial<PushConfig>): PushConfig;
  redeliver(messageId: string): Promise<RecordedMessage>;
  /** Makes `services.check` answer this error for the consumer; `undefined` lifts it. */
  forceCheckError(consumerId: string, code: CheckErrorCode | undefined): void;
  /** Publishes a new signup and OIDC key (the previous ones stay served). */
  rotateKeys(): Promise<void>;
}

export interface GcpSimulator {
  readonly cloud: SimCloud;
  readonly handle: GcpSimulatorHandle;
}

export const createGcpSimulator = async (
  context: SimContext,
  options: GcpSimulatorOptions = {},
): Promise<GcpSimulator> => {
  const { clock, messages, deliveries } = context;
  const providerId = options.providerId ?? GCP_DEFAULTS.providerId;
  const productDomains = options.productDomains?.length
    ? [...options.productDomains]
    : [...GCP_DEFAULTS.productDomains];
  // Separate streams, so adding a key or a message never shifts the ids of resources.
  const keyRandom = createRandom(`${context.seed}:gcp:keys`);
  const [signupKeys, oidcKeys] = await Promise.all([
    createKeyRing({
      commonName: 'cloud-commerce-partner.system.gserviceaccount.com',
      random: keyRandom,
      nowMs: clock.nowMs(),
    }),
    createKeyRing({
      commonName: 'federated-signon.system.gserviceaccount.com',
      random: keyRandom,
      nowMs: clock.nowMs(),
    }),
  ]);

  const pubsub = createPubSubPush({
    clock,
    random: createRandom(`${context.seed}:gcp:pubsub`),
    messages,
    deliveries,
    oidcKeys,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    pushTimeoutMs: options.pushTimeoutMs ?? GCP_DEFAULTS.pushTimeoutMs,
    config: {
      ...(options.pushEndpoint ? { pushEndpoint: options.pushEndpoint } : {}),
      ...(options.pushAudience ? { pushAudience: options.pushAudience } : {}),
      pushServiceAccount: options.pushServiceAccount ?? GCP_DEFAULTS.pushServiceAccount,
      subscription: options.subscription ?? GCP_DEFAULTS.subscription,
      deliver: options.deliver ?? GCP_DEFAULTS.deliver,
    },
  });
  const marketplace = createGcpMarketplace({
    providerId,
    productDomains,
    accountNotifications: options.accountNotifications ?? true,
    clock,
    random: createRandom(`${context.seed}:gcp`),
    pubsub,
    signupKeys,
  });
  const ledger = createUsageLedger({
    clock,
    ...(options.usageMetrics ? { metrics: options.usageMetrics } : {}),
  });
  const forcedCheckErrors = new Map<string, CheckErrorCode>();

  const ids = (published: readonly RecordedMessage[]): string[] => published.map((m) => m.id);

  const cloud: SimCloud = {
    name: 'gcp',
    routes: [
      ...procurementRoutes({ marketplace, pubsub }),
      ...serviceControlRoutes({ marketplace, ledger, forcedCheckErrors }),
      ...certRoutes({ signup: signupKeys, oidc: oidcKeys, nowMs: clock.nowMs }),
      ...buyerRoutes({
        marketplace,
        pubsub,
        ledger,
        keys: { signup: signupKeys, oidc: oidcKeys },
        nowMs: clock.nowMs,
      }),
    ],
    guard: requireBearer,
    faultError: (outcome) => (outcome === 'throttled' ? resourceExhausted() : unavailable()),
    faults: {
      shape: {
        checkErrors: z
          .record(z.string(), z.enum(CHECK_ERROR_CODES))
          .optional()
          .describe('consumerId → the check error services.check answers for it'),
      },
      configure: (values) => {
        forcedCheckErrors.clear();
        for (const [consumerId, code] of Object.entries(
          (values.checkErrors ?? {}) as Record<string, CheckErrorCode>,
        )) {
          forcedCheckErrors.set(consumerId, code);
        }
      },
      reset: () => forcedCheckErrors.clear(),
    },
    reset: () => {
      marketplace.reset();
      ledger.reset();
      forcedCheckErrors.clear();
    },
  };

  const handle: GcpSimulatorHandle = {
    providerId,
    productDomains,
    signupKey: () => signupKeys.current(),
    oidcKey: () => oidcKeys.current(),
    purchase: async (input) => {
      const { published, ...result } = marketplace.purchase(input);
      await pubsub.dispatch(published, 'buyer');
      return { ...result, messageIds: ids(published) };
    },
    buyerAction: async (entitlementId, action, input) => {
      const { published } = marketplace.buyerAction(entitlementId, action, input);
      await pubsub.dispatch(published, 'buyer');
      return { messageIds: ids(published) };
    },
    deleteAccount: async (accountId) => {
      const { published } = marketplace.deleteAccount(accountId);
      await pubsub.dispatch(published, 'buyer');
      return { messageIds: ids(published) };
    },
    account: (accountId) => {
      const account = marketplace.account(accountId);
      return account && accountView(providerId, account);
    },
    entitlement: (entitlementId) => {
      const entitlement = marketplace.entitlement(entitlementId);
      return entitlement && entitlementView(providerId, entitlement);
    },
    messages: () => messages.list({ cloud: 'gcp' }),
    usageReports: () => ledger.billed(),
    rejectedUsageReports: () => ledger.rejected(),
    signupToken: (accountId, overrides = {}) =>
      mintSignupToken({ ...marketplace.signupTokenOptions(accountId), ...overrides }),
    forgeSignupToken: (forgery, accountId) =>
      forgeSignupToken(forgery, marketplace.signupTokenOptions(accountId)),
    oidcToken: ({ audience, email, nowSeconds }) =>
      mintOidcToken({
        key: oidcKeys.current(),
        audience,
        email: email ?? pubsub.config().pushServiceAccount,
        subject: pubsub.serviceAccountId,
        nowSeconds: nowSeconds ?? Math.floor(clock.nowMs() / 1000),
      }),
    configurePush: (changes) => pubsub.configure(changes),
    redeliver: (messageId) => pubsub.redeliver(messageId),
    forceCheckError: (consumerId, code) => {
      if (code) forcedCheckErrors.set(consumerId, code);
      else forcedCheckErrors.delete(consumerId);
    },
    rotateKeys: async () => {
      await Promise.all([signupKeys.rotate(), oidcKeys.rotate()]);
    },
  };

  return { cloud, handle };
};
