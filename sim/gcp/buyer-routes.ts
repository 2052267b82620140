import { z } from 'zod';
import { simError } from '../http/http-error';
import { parseBody } from '../http/parse-body';
import type { SimResponse, SimRoute } from '../http/types';
import { isIsoDuration } from './iso-duration';
import type { ActionResult, BuyerEntitlementAction, GcpMarketplace } from './marketplace';
import { mintOidcToken } from './oidc-tokens';
import type { PubSubPush } from './pubsub-push';
import { accountView, entitlementView } from './resource-views';
import type { KeyRing } from './signing-keys';
import type { UsageLedger } from './usage-ledger';

/**
 * `/_sim/gcp/*`: what a buyer does on Google Cloud Marketplace, and what a test inspects or
 * tunes. No credentials, no faults. Bad input answers 400, an unknown resource 404 and an
 * action the resource's state does not allow 409, each with a message saying why.
 */
export interface BuyerRoutesDeps {
  readonly marketplace: GcpMarketplace;
  readonly pubsub: PubSubPush;
  readonly ledger: UsageLedger;
  readonly keys: { readonly signup: KeyRing; readonly oidc: KeyRing };
  readonly nowMs: () => number;
}

const NAME = /^[A-Za-z0-9._-]+$/;
const name = (what: string) =>
  z.string().regex(NAME, `${what} may hold letters, digits, ".", "_" and "-" only`);
const time = z.iso.datetime({ offset: true });

const offerSchema = z
  .strictObject({
    id: name('offer.id').optional(),
    type: z.enum(['private', 'standard']).optional(),
    duration: z
      .string()
      .refine(isIsoDuration, 'must be an ISO 8601 duration such as P1Y or P2Y3M')
      .optional(),
    endTime: time.optional(),
    startTime: time.optional(),
    autoApproval: z.boolean().optional(),
  })
  .refine((offer) => !(offer.duration && offer.endTime), 'give duration or endTime, not both')
  .refine(
    (offer) =>
      offer.type !== 'standard' ||
      (offer.duration ?? offer.endTime ?? offer.startTime ?? offer.autoApproval) === undefined,
    'a standard offer has no duration, endTime, startTime or autoApproval',
  );

const purchaseSchema = z.strictObject({
  plan: name('plan'),
  accountId: name('accountId').optional(),
  usage: z.boolean().optional(),
  offer: offerSchema.optional(),
  productExternalName: z.string().min(1).optional(),
  quoteExternalName: z.string().min(1).optional(),
  consumers: z
    .array(z.string().regex(/^projects\/[^/\s]+$/, 'must be "projects/{number}"'))
    .optional(),
  approvals: z.array(name('approval name')).min(1).optional(),
});

const ACTION_SCHEMAS: Record<BuyerEntitlementAction, z.ZodType<Record<string, unknown>>> = {
  'change-plan': z.strictObject({ plan: name('plan'), offer: offerSchema.optional() }),
  'cancel-plan-change': z.strictObject({}),
  cancel: z.strictObject({ immediate: z.boolean().optional() }),
  'revert-cancellation': z.strictObject({}),
  renew: z.strictObject({}),
  'end-offer': z.strictObject({ cancel: z.boolean().optional() }),
  'start-offer': z.strictObject({}),
  expire: z.strictObject({}),
  delete: z.strictObject({}),
};
const ACTIONS = Object.keys(ACTION_SCHEMAS) as BuyerEntitlementAction[];

const pushConfigSchema = z.strictObject({
  pushEndpoint: z.url().nullable().optional(),
  pushAudience: z.string().min(1).nullable().optional(),
  pushServiceAccount: z.email().optional(),
  deliver: z.enum(['sync', 'async', 'manual']).optional(),
});

const oidcTokenSchema = z.strictObject({
  audience: z.string().min(1),
  email: z.email().optional(),
});

const signupTokenSchema = z.strictObject({ audience: z.string().min(1).optional() });

export const buyerRoutes = (deps: BuyerRoutesDeps): SimRoute[] => {
  const { marketplace, pubsub } = deps;
  const providerId = marketplace.providerId;

  const answer = async (result: ActionResult, status = 200): Promise<SimResponse> => {
    await pubsub.dispatch(result.published, 'buyer');
    return {
      status,
      body: {
        ...(result.entitlement
          ? { entitlement: entitlementView(providerId, result.entitlement) }
          : {}),
        messageIds: result.published.map((message) => message.id),
      },
    };
  };

  return [
    {
      method: 'POST',
      pattern: '/_sim/gcp/purchase',
      handle: async (request) => {
        const input = await parseBody(request, purchaseSchema);
        const { published, ...result } = marketplace.purchase(input);
        await pubsub.dispatch(published, 'buyer');
        return { status: 201, body: { ...result, messageIds: published.map((m) => m.id) } };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/entitlements/{id}/{action}',
      handle: async (request) => {
        const action = request.params.action as BuyerEntitlementAction;
        if (!ACTIONS.includes(action)) {
          throw simError(404, `unknown action "${action}"; actions: ${ACTIONS.join(', ')}`);
        }
        const input = await parseBody(request, ACTION_SCHEMAS[action]);
        const id = request.params.id ?? '';
        const result = marketplace.buyerAction(id, action, input);
        if (action !== 'delete') return answer(result);
        await pubsub.dispatch(result.published, 'buyer');
        return {
          status: 200,
          body: { entitlementId: id, deleted: true, messageIds: result.published.map((m) => m.id) },
        };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/accounts/{id}/delete',
      handle: async (request) => {
        await parseBody(request, z.strictObject({}));
        const id = request.params.id ?? '';
        const result = marketplace.deleteAccount(id);
        await pubsub.dispatch(result.published, 'buyer');
        return {
          status: 200,
          body: { accountId: id, deleted: true, messageIds: result.published.map((m) => m.id) },
        };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/accounts/{id}/signup-token',
      handle: async (request) => {
        const { audience } = await parseBody(request, signupTokenSchema);
        const accountId = request.params.id ?? '';
        return {
          status: 200,
          body: { accountId, signupToken: marketplace.signupToken(accountId, audience) },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/_sim/gcp/state',
      handle: () => ({
        status: 200,
        body: {
          providerId,
          accounts: marketplace.accounts().map((a) => accountView(providerId, a)),
          entitlements: marketplace.entitlements().map((e) => entitlementView(providerId, e)),
        },
      }),
    },
    {
      method: 'GET',
      pattern: '/_sim/gcp/usage-reports',
      handle: (request) => {
        const consumerId = request.url.searchParams.get('consumerId');
        const keep = <T extends { consumerId?: string }>(rows: readonly T[]): T[] =>
          rows.filter((row) => consumerId === null || row.consumerId === consumerId);
        return {
          status: 200,
          body: { reports: keep(deps.ledger.billed()), rejected: keep(deps.ledger.rejected()) },
        };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/messages/{messageId}/redeliver',
      handle: async (request) => ({
        status: 200,
        body: await pubsub.redeliver(request.params.messageId ?? ''),
      }),
    },
    {
      method: 'GET',
      pattern: '/_sim/gcp/push-config',
      handle: () => ({ status: 200, body: pubsub.config() }),
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/push-config',
      handle: async (request) => {
        const changes = await parseBody(request, pushConfigSchema);
        // `null` clears a setting; absent leaves it.
        const next = Object.fromEntries(
          Object.entries(changes).map(([key, value]) => [key, value ?? undefined]),
        );
        return { status: 200, body: pubsub.configure(next) };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/keys/rotate',
      handle: async () => {
        const [signup, oidc] = await Promise.all([
          deps.keys.signup.rotate(),
          deps.keys.oidc.rotate(),
        ]);
        return { status: 200, body: { signupKid: signup.kid, oidcKid: oidc.kid } };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/gcp/oidc-token',
      handle: async (request) => {
        const { audience, email } = await parseBody(request, oidcTokenSchema);
        const token = mintOidcToken({
          key: deps.keys.oidc.current(),
          audience,
          email: email ?? pubsub.config().pushServiceAccount,
          subject: pubsub.serviceAccountId,
          nowSeconds: Math.floor(deps.nowMs() / 1000),
        });
        return { status: 200, body: { token } };
      },
    },
  ];
};
