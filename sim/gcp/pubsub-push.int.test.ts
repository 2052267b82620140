import { OAuth2Client } from 'google-auth-library';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import type { PushReceiver, ReceivedRequest } from '../testing/push-receiver';
import { createPushReceiver } from '../testing/push-receiver';

const PROVIDER = 'DEMO-push';
const AUDIENCE = 'https://events.example.com/push';
const PUSHER = 'marketplace-push@vendor-project.iam.gserviceaccount.com';
const SUBSCRIPTION = 'projects/vendor-project/subscriptions/marketplace';

interface PushBody {
  message: {
    data: string;
    attributes: Record<string, string>;
    messageId: string;
    message_id: string;
    publishTime: string;
    publish_time: string;
  };
  subscription: string;
}

const bodyOf = (request: ReceivedRequest): PushBody => request.body as PushBody;
const payloadOf = (request: ReceivedRequest): Record<string, unknown> =>
  JSON.parse(Buffer.from(bodyOf(request).message.data, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
const eventTypesOf = (requests: readonly ReceivedRequest[]): unknown[] =>
  requests.map((request) => payloadOf(request).eventType);

describe('Pub/Sub push deliveries', () => {
  let sim: Simulator;
  let receiver: PushReceiver;

  beforeAll(async () => {
    receiver = await createPushReceiver();
    sim = await createSimulator({
      seed: 'push',
      gcp: {
        providerId: PROVIDER,
        productDomains: ['demo.example.com'],
        pushEndpoint: receiver.url,
        pushAudience: AUDIENCE,
        pushServiceAccount: PUSHER,
        subscription: SUBSCRIPTION,
        deliver: 'sync',
        retry: { minBackoffMs: 20, maxBackoffMs: 50, maxAttempts: 3 },
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.close();
  });
  beforeEach(() => {
    sim.reset();
    receiver.received.length = 0;
    sim.gcp.configurePush({ pushEndpoint: receiver.url, pushAudience: AUDIENCE, deliver: 'sync' });
  });

  it('pushes what a purchase publishes, in order, before the purchase answers', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    expect(receiver.received).toHaveLength(2);
    const [account, entitlement] = receiver.received;

    expect(account!.method).toBe('POST');
    expect(account!.path).toBe('/push');
    expect(account!.headers['content-type']).toBe('application/json');
    expect(bodyOf(account!)).toEqual({
      message: {
        data: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
        attributes: {},
        messageId: expect.stringMatching(/^\d+$/),
        message_id: bodyOf(account!).message.messageId,
        publishTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        publish_time: bodyOf(account!).message.publishTime,
      },
      subscription: SUBSCRIPTION,
    });
    expect(payloadOf(account!)).toEqual({
      eventId: expect.any(String),
      eventType: 'ACCOUNT_ACTIVE',
      providerId: PROVIDER,
      account: { id: bought.accountId, updateTime: expect.any(String) },
    });
    expect(payloadOf(entitlement!)).toEqual({
      eventId: expect.any(String),
      eventType: 'ENTITLEMENT_CREATION_REQUESTED',
      providerId: PROVIDER,
      entitlement: {
        id: bought.entitlementId,
        updateTime: sim.gcp.entitlement(bought.entitlementId)!.updateTime,
      },
    });
    expect(sim.gcp.messages().map((m) => [m.state, m.attempts.map((a) => a.status)])).toEqual([
      ['delivered', [204]],
      ['delivered', [204]],
    ]);
  });

  it('signs each push with a Google OIDC token that verifies against the served certs', async () => {
    await sim.gcp.purchase({ plan: 'pro' });
    const authorization = receiver.received[0]!.headers.authorization!;
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const token = authorization.slice('Bearer '.length);

    const jwks = createRemoteJWKSet(new URL(`${sim.url}/oauth2/v3/certs`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: 'https://accounts.google.com',
      audience: AUDIENCE,
      algorithms: ['RS256'],
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: sim.gcp.oidcKey().kid, typ: 'JWT' });
    expect(payload).toEqual({
      aud: AUDIENCE,
      azp: expect.stringMatching(/^\d{21}$/),
      email: PUSHER,
      email_verified: true,
      exp: payload.iat! + 3600,
      iat: expect.any(Number),
      iss: 'https://accounts.google.com',
      sub: payload.azp,
    });

    // google-auth-library's own verifier, pointed at the simulator's PEM certificates.
    const verifier = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${sim.url}/oauth2/v1/certs` },
      transporterOptions: { fetchImplementation: fetch },
    });
    const ticket = await verifier.verifyIdToken({ idToken: token, audience: AUDIENCE });
    expect(ticket.getPayload()).toMatchObject({ email: PUSHER, email_verified: true });
  });

  it('uses the push endpoint as the audience when none is configured, as Pub/Sub does', async () => {
    sim.gcp.configurePush({ pushAudience: undefined });
    await sim.gcp.purchase({ plan: 'pro' });
    const token = receiver.received[0]!.headers.authorization!.slice('Bearer '.length);
    const jwks = createRemoteJWKSet(new URL(`${sim.url}/oauth2/v3/certs`));
    await expect(jwtVerify(token, jwks, { audience: receiver.url })).resolves.toBeDefined();
  });

  // Cancelling a requested purchase publishes one message, so all answers below go to it.
  it('retries a push the endpoint refuses, with backoff, until it is acknowledged', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    receiver.answerNext(500, 503);
    await sim.gcp.buyerAction(bought.entitlementId, 'cancel');
    expect(await sim.idle(5_000)).toBe(true);
    const cancelled = sim.gcp.messages().at(-1)!;
    expect(cancelled.eventType).toBe('ENTITLEMENT_CANCELLED');
    expect(cancelled.state).toBe('delivered');
    expect(cancelled.attempts.map((a) => a.status)).toEqual([500, 503, 204]);
    const ids = receiver.received.map((request) => bodyOf(request).message.messageId);
    expect(ids.filter((id) => id === cancelled.id)).toHaveLength(3);
  });

  it('gives up after the last attempt, like a dead-lettered message', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    receiver.answerNext(500, 500, 500);
    await sim.gcp.buyerAction(bought.entitlementId, 'cancel');
    expect(await sim.idle(5_000)).toBe(true);
    expect(sim.gcp.messages().at(-1)!.state).toBe('failed');
    expect(sim.gcp.messages().at(-1)!.attempts).toHaveLength(3);
  });

  it('records an unreachable endpoint as a failed attempt', async () => {
    sim.gcp.configurePush({ pushEndpoint: 'http://127.0.0.1:9/push', deliver: 'async' });
    await sim.gcp.purchase({ plan: 'pro' });
    expect(await sim.idle(5_000)).toBe(true);
    const [message] = sim.gcp.messages();
    expect(message!.state).toBe('failed');
    expect(message!.attempts[0]!.error).toMatch(/ECONNREFUSED/);
    expect(message!.attempts[0]).not.toHaveProperty('status');
  });

  it('redelivers a message on demand, the same message id again', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const [, creation] = sim.gcp.messages();
    const response = await fetch(`${sim.url}/_sim/gcp/messages/${creation!.id}/redeliver`, {
      method: 'POST',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: creation!.id,
      state: 'delivered',
      attempts: [{}, {}],
    });
    expect(receiver.received).toHaveLength(3);
    expect(bodyOf(receiver.received[2]!)).toEqual(bodyOf(receiver.received[1]!));
    expect(payloadOf(receiver.received[2]!)).toMatchObject({
      entitlement: { id: bought.entitlementId },
    });

    const unknown = await fetch(`${sim.url}/_sim/gcp/messages/1/redeliver`, { method: 'POST' });
    expect(unknown.status).toBe(404);
  });

  it('holds messages in manual mode until each is redelivered, in any order', async () => {
    sim.gcp.configurePush({ deliver: 'manual' });
    await sim.gcp.purchase({ plan: 'pro' });
    expect(receiver.received).toHaveLength(0);
    const [account, creation] = sim.gcp.messages();
    expect([account!.state, creation!.state]).toEqual(['held', 'held']);
    await sim.gcp.redeliver(creation!.id);
    await sim.gcp.redeliver(account!.id);
    expect(eventTypesOf(receiver.received)).toEqual([
      'ENTITLEMENT_CREATION_REQUESTED',
      'ACCOUNT_ACTIVE',
    ]);
  });

  it('only records messages when no endpoint is configured', async () => {
    sim.gcp.configurePush({ pushEndpoint: undefined });
    await sim.gcp.purchase({ plan: 'pro' });
    expect(receiver.received).toHaveLength(0);
    expect(sim.gcp.messages().map((m) => m.state)).toEqual(['recorded', 'recorded']);
    const listed = (await (await fetch(`${sim.url}/_sim/messages?cloud=gcp`)).json()) as {
      messages: unknown[];
    };
    expect(listed.messages).toHaveLength(2);
  });

  it('pushes what a Procurement API call publishes in the background', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const headers = { authorization: 'Bearer local', 'content-type': 'application/json' };
    await fetch(`${sim.url}/v1/providers/${PROVIDER}/accounts/${bought.accountId}:approve`, {
      method: 'POST',
      headers,
      body: '{}',
    });
    await fetch(
      `${sim.url}/v1/providers/${PROVIDER}/entitlements/${bought.entitlementId}:approve`,
      {
        method: 'POST',
        headers,
        body: '{}',
      },
    );
    expect(await sim.idle(5_000)).toBe(true);
    const idle = await fetch(`${sim.url}/_sim/idle`, { method: 'POST' });
    expect(await idle.json()).toEqual({ idle: true });
    expect(eventTypesOf(receiver.received)).toEqual([
      'ACCOUNT_ACTIVE',
      'ENTITLEMENT_CREATION_REQUESTED',
      'ENTITLEMENT_ACTIVE',
    ]);
  });

  it('changes the push configuration over HTTP', async () => {
    const response = await fetch(`${sim.url}/_sim/gcp/push-config`, {
      method: 'POST',
      body: JSON.stringify({ pushEndpoint: null, deliver: 'async' }),
    });
    expect(await response.json()).toEqual({
      pushAudience: AUDIENCE,
      pushServiceAccount: PUSHER,
      subscription: SUBSCRIPTION,
      deliver: 'async',
    });
    const bad = await fetch(`${sim.url}/_sim/gcp/push-config`, {
      method: 'POST',
      body: JSON.stringify({ pushEndpoint: 'not a url' }),
    });
    expect(bad.status).toBe(400);
  });

  describe('event payloads', () => {
    const payloads = () =>
      sim.gcp.messages().map((m) => m.payload as { eventType: string; entitlement?: object });

    it('carries the offer term on the creation of a private offer', async () => {
      await sim.gcp.purchase({
        plan: 'pro',
        offer: { id: 'po-1', type: 'private', duration: 'P1Y6M' },
      });
      await sim.gcp.purchase({
        plan: 'pro',
        offer: { type: 'private', endTime: '2030-01-01T00:00:00Z' },
      });
      const created = payloads().filter((p) => p.eventType === 'ENTITLEMENT_CREATION_REQUESTED');
      expect(created.map((p) => p.entitlement)).toEqual([
        {
          id: expect.any(String),
          updateTime: expect.any(String),
          newOfferDuration: 'P1Y6M',
          newOfferEndTime: '',
        },
        {
          id: expect.any(String),
          updateTime: expect.any(String),
          newOfferDuration: '',
          newOfferEndTime: '2030-01-01T00:00:00Z',
        },
      ]);
    });

    it('sends OFFER_ACCEPTED, not CREATION_REQUESTED, for an automatically approved private offer', async () => {
      const startTime = new Date(Date.now() + 86_400_000).toISOString();
      const bought = await sim.gcp.purchase({
        plan: 'pro',
        offer: { type: 'private', duration: 'P1Y', startTime, autoApproval: true },
      });
      expect(payloads().map((p) => p.eventType)).toEqual([
        'ACCOUNT_ACTIVE',
        'ENTITLEMENT_OFFER_ACCEPTED',
      ]);
      expect(payloads()[1]!.entitlement).toEqual({
        id: bought.entitlementId,
        updateTime: expect.any(String),
        newOfferDuration: 'P1Y',
        newOfferStartTime: startTime,
        newOfferEndTime: new Date(Date.parse(startTime) + 365 * 86_400_000).toISOString(),
      });
      expect(sim.gcp.entitlement(bought.entitlementId)).toMatchObject({
        state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
        newOfferStartTime: startTime,
      });

      await sim.gcp.buyerAction(bought.entitlementId, 'start-offer');
      expect(payloads().at(-1)!.eventType).toBe('ENTITLEMENT_ACTIVE');
      expect(sim.gcp.entitlement(bought.entitlementId)).toMatchObject({
        state: 'ENTITLEMENT_ACTIVE',
      });
    });

    it('carries newPlan on plan change messages', async () => {
      const bought = await sim.gcp.purchase({
        plan: 'pro',
        offer: { autoApproval: true, type: 'private' },
      });
      await sim.gcp.buyerAction(bought.entitlementId, 'change-plan', { plan: 'max' });
      expect(payloads().at(-1)).toMatchObject({
        eventType: 'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
        entitlement: { newPlan: 'max' },
      });
    });
  });
});
