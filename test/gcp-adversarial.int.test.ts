import { SIGNUP_TOKEN_FORGERIES } from '../sim/gcp/signup-tokens';
import { startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';

const form = (token: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ 'x-gcp-marketplace-token': token }).toString(),
  redirect: 'manual' as const,
});

const pushBody = (payload: unknown, messageId = String(Date.now())) => ({
  message: {
    data: Buffer.from(JSON.stringify(payload)).toString('base64'),
    messageId,
    publishTime: new Date().toISOString(),
  },
  subscription: 'projects/demo-local/subscriptions/marketplace-events',
});

describe('Google functions under bad input', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack();
  });
  afterAll(async () => stack?.stop());

  const push = (body: unknown, token: string | null) =>
    fetch(stack.urls.events, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const pushToken = () => stack.sim.gcp.oidcToken({ audience: stack.urls.events });

  describe('signup', () => {
    it.each(SIGNUP_TOKEN_FORGERIES)(
      'refuses a %s token with a clear page and stores nothing',
      async (forgery) => {
        const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
        const token = await stack.sim.gcp.forgeSignupToken(forgery, purchase.accountId);
        const response = await fetch(stack.urls.signup, form(token));
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toContain('text/html');
        const page = await response.text();
        expect(page).toContain('Sign up with provider');
        expect(page).not.toMatch(/ERR_|jose|stack|Error:/);
        expect(
          await stack.store.getAccount({ cloud: 'gcp', id: purchase.accountId }),
        ).toMatchObject({ status: 'pending_signup', tenant: null });
        expect(stack.sim.gcp.account(purchase.accountId)).toMatchObject({
          approvals: [expect.objectContaining({ name: 'signup', state: 'PENDING' })],
        });
      },
    );

    it('accepts a token listing several orders and answers every pending one', async () => {
      const first = await stack.sim.gcp.purchase({ plan: 'pro' });
      const second = await stack.sim.gcp.purchase({ plan: 'team', accountId: first.accountId });
      const response = await fetch(stack.urls.signup, form(second.signupToken));
      await stack.sim.idle();
      expect(response.status).toBe(303);
      for (const id of [first.entitlementId, second.entitlementId]) {
        expect(stack.sim.gcp.entitlement(id)).toMatchObject({ state: 'ENTITLEMENT_ACTIVE' });
      }
    });

    it.each([
      ['a GET', 405, { method: 'GET' }],
      [
        'no token',
        400,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'other=1',
        },
      ],
      ['an oversized token', 400, form('x'.repeat(10_000))],
      ['garbage', 401, form('not.a.jwt')],
    ] as const)('answers %s with %d', async (_, status, init) => {
      const response = await fetch(stack.urls.signup, {
        ...init,
        redirect: 'manual',
      } as RequestInit);
      expect(response.status).toBe(status);
    });
  });

  describe('events push', () => {
    it.each([
      ['no token', () => null],
      [
        'a token for another audience',
        () => stack.sim.gcp.oidcToken({ audience: 'https://elsewhere.example' }),
      ],
      [
        'a token for another service account',
        () =>
          stack.sim.gcp.oidcToken({
            audience: stack.urls.events,
            email: 'intruder@example.iam.gserviceaccount.com',
          }),
      ],
      [
        'an expired token',
        () =>
          stack.sim.gcp.oidcToken({
            audience: stack.urls.events,
            nowSeconds: Math.floor(Date.now() / 1000) - 7_200,
          }),
      ],
    ])('rejects a push with %s and records nothing', async (_, token) => {
      const payload = {
        eventId: `forged-${Date.now()}`,
        eventType: 'ENTITLEMENT_ACTIVE',
        providerId: stack.sim.gcp.providerId,
        entitlement: { id: 'e-forged' },
      };
      const response = await push(pushBody(payload), token());
      expect(response.status).toBe(401);
      expect(await stack.store.getEvent('gcp', payload.eventId)).toBeNull();
    });

    it.each([
      [
        'data that is not JSON',
        { message: { data: Buffer.from('{nope').toString('base64'), messageId: 'bad-json' } },
        'pubsub:bad-json',
      ],
      [
        'a payload naming nothing',
        pushBody({ eventId: 'naming-nothing', providerId: 'DEMO-local' }, 'naming-nothing-msg'),
        'pubsub:naming-nothing-msg',
      ],
      [
        'another provider',
        pushBody(
          { eventId: 'other-provider', providerId: 'someone-else', account: { id: 'a' } },
          'other-provider-msg',
        ),
        'pubsub:other-provider-msg',
      ],
    ])(
      'acknowledges %s and keeps it as a dead letter with the reason',
      async (_, body, eventId) => {
        const response = await push(body, pushToken());
        expect(response.status).toBe(204);
        expect(await stack.store.getEvent('gcp', eventId)).toMatchObject({
          outcome: 'dead_letter',
          reason: expect.any(String),
        });
      },
    );

    it('records an unknown event type and acknowledges it without a read', async () => {
      const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
      const payload = {
        eventId: `unknown-${Date.now()}`,
        eventType: 'ENTITLEMENT_SOMETHING_NEW',
        providerId: stack.sim.gcp.providerId,
        entitlement: { id: purchase.entitlementId },
      };
      const response = await push(pushBody(payload), pushToken());
      expect(response.status).toBe(204);
      expect(await stack.store.getEvent('gcp', payload.eventId)).toMatchObject({
        outcome: 'ignored',
        type: 'ENTITLEMENT_SOMETHING_NEW',
      });
    });

    it('treats a redelivered message as a duplicate', async () => {
      const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
      const [, creation] = purchase.messageIds;
      const before = await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId });
      const redelivered = await stack.sim.gcp.redeliver(creation!);
      expect(redelivered.attempts.at(-1)?.status).toBe(204);
      expect(
        await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId }),
      ).toEqual(before);
    });

    it('asks Pub/Sub to retry while the marketplace is down, then processes the message', async () => {
      stack.sim.setFaults({ errorRate: 1, scope: 'gcp' });
      const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
      const creation = stack.sim.messages().find((m) => m.id === purchase.messageIds[1]);
      expect(creation?.attempts[0]?.status).toBe(503);
      stack.sim.resetFaults();
      await stack.sim.idle(30_000);
      expect(
        await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId }),
      ).toMatchObject({ status: 'pending_approval' });
    });

    it('handles the same message through the CloudEvent entry point', async () => {
      const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
      const message = stack.sim.messages().find((m) => m.id === purchase.messageIds[1])!;
      const ceId = `ce-${Date.now()}`;
      const response = await fetch(stack.urls.cloudEvent, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-id': ceId,
          'ce-specversion': '1.0',
          'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
          'ce-source': '//pubsub.googleapis.com/projects/cloudcommerceproc-prod/topics/demo-local',
        },
        body: JSON.stringify(message.envelope),
      });
      expect(response.status).toBeLessThan(300);
      const eventId = (message.payload as { eventId: string }).eventId;
      expect(await stack.store.getEvent('gcp', eventId)).toMatchObject({
        type: 'ENTITLEMENT_CREATION_REQUESTED',
      });
    });
  });
});
