import type { Simulator } from '../server';
import { createSimulator } from '../server';

const PROVIDER = 'DEMO-buyer';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('buyer actions over HTTP', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await createSimulator({
      seed: 'buyer',
      gcp: { providerId: PROVIDER, productDomains: ['demo.example.com'] },
    });
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  const post = async (path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${sim.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const api = async (method: string, path: string, body: unknown = {}): Promise<Answer> => {
    const response = await fetch(`${sim.url}/v1/providers/${PROVIDER}/${path}`, {
      method,
      headers: { authorization: 'Bearer local' },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const entitlement = async (id: string) => (await api('GET', `entitlements/${id}`)).body;
  const act = (id: string, action: string, body?: unknown) =>
    post(`/_sim/gcp/entitlements/${id}/${action}`, body);
  const eventTypes = () => sim.gcp.messages().map((m) => m.eventType);

  const purchase = async (body: unknown = { plan: 'pro' }) => {
    const answer = await post('/_sim/gcp/purchase', body);
    expect(answer.status).toBe(201);
    return answer.body as {
      provider: string;
      accountId: string;
      entitlementId: string;
      signupToken: string;
    };
  };

  const activePurchase = async (body: unknown = { plan: 'pro' }) => {
    const bought = await purchase(body);
    expect((await api('POST', `accounts/${bought.accountId}:approve`)).status).toBe(200);
    expect((await api('POST', `entitlements/${bought.entitlementId}:approve`)).status).toBe(200);
    return bought;
  };

  it('purchases with the minimal body of the contract', async () => {
    const answer = await post('/_sim/gcp/purchase', { plan: 'pro' });
    expect(answer).toEqual({
      status: 201,
      body: {
        provider: PROVIDER,
        accountId: expect.any(String),
        entitlementId: expect.any(String),
        orderId: expect.any(String),
        signupToken: expect.stringMatching(/^eyJ/),
        messageIds: [expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)],
      },
    });
  });

  it('buys a second order on an existing account without a second ACCOUNT_ACTIVE', async () => {
    const first = await purchase();
    const second = await purchase({ plan: 'max', accountId: first.accountId });
    expect(second.accountId).toBe(first.accountId);
    expect(eventTypes()).toEqual([
      'ACCOUNT_ACTIVE',
      'ENTITLEMENT_CREATION_REQUESTED',
      'ENTITLEMENT_CREATION_REQUESTED',
    ]);
  });

  it.each([
    [{}, /plan/],
    [{ plan: '' }, /plan/],
    [{ plan: 'pro', colour: 'red' }, /Unrecognized key: "colour"/],
    [{ plan: 'pro', usage: 'yes' }, /usage/],
    [{ plan: 'pro', offer: { type: 'private', duration: 'one year' } }, /ISO 8601 duration/],
    [
      { plan: 'pro', offer: { type: 'private', duration: 'P1Y', endTime: '2030-01-01T00:00:00Z' } },
      /not both/,
    ],
    [{ plan: 'pro', offer: { type: 'standard', duration: 'P1Y' } }, /standard offer/],
    [{ plan: 'pro', offer: { startTime: 'tomorrow' } }, /offer.startTime/],
    [{ plan: 'pro', consumers: ['123'] }, /projects\/\{number\}/],
  ])('refuses the purchase %j with a clear 400', async (body, message) => {
    const answer = await post('/_sim/gcp/purchase', body);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: { code: 400, message: expect.stringMatching(message), status: 'INVALID_ARGUMENT' },
    });
  });

  it('refuses a body that is not JSON', async () => {
    const response = await fetch(`${sim.url}/_sim/gcp/purchase`, { method: 'POST', body: '{plan' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { message: expect.stringMatching(/Invalid JSON/) },
    });
  });

  it('answers 404 for unknown routes, entitlements and actions, 405 for a wrong method', async () => {
    expect((await post('/_sim/nothing')).status).toBe(404);
    expect((await act('nope', 'cancel')).status).toBe(404);
    const bought = await purchase();
    const unknown = await act(bought.entitlementId, 'teleport');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      error: { message: expect.stringMatching(/actions: change-plan/) },
    });
    expect((await fetch(`${sim.url}/_sim/gcp/purchase`)).status).toBe(405);
  });

  it('cancels at the end of the term, reverts, then expires', async () => {
    const { entitlementId } = await activePurchase();
    const pending = await act(entitlementId, 'cancel');
    expect(pending.status).toBe(200);
    expect(pending.body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_PENDING_CANCELLATION',
      subscriptionEndTime: expect.any(String),
    });
    expect((await act(entitlementId, 'revert-cancellation')).body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
    });
    expect((await act(entitlementId, 'expire')).status).toBe(409);
    await act(entitlementId, 'cancel');
    const expired = await act(entitlementId, 'expire');
    expect(expired.body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_CANCELLED',
      cancellationReason: 'user-cancelled',
    });
    expect(eventTypes().slice(-4)).toEqual([
      'ENTITLEMENT_PENDING_CANCELLATION',
      'ENTITLEMENT_CANCELLATION_REVERTED',
      'ENTITLEMENT_PENDING_CANCELLATION',
      'ENTITLEMENT_CANCELLED',
    ]);
  });

  it('cancels immediately when asked, and withdraws an order not yet approved', async () => {
    const active = await activePurchase();
    expect(
      (await act(active.entitlementId, 'cancel', { immediate: true })).body.entitlement,
    ).toMatchObject({
      state: 'ENTITLEMENT_CANCELLED',
    });
    const requested = await purchase();
    expect((await act(requested.entitlementId, 'cancel')).body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_CANCELLED',
      cancellationReason: 'user-aborted',
    });
    const again = await act(requested.entitlementId, 'cancel');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      error: { message: expect.stringMatching(/is ENTITLEMENT_CANCELLED/) },
    });
  });

  it('changes plans only when active, and lets the buyer take a request back', async () => {
    const requested = await purchase();
    const early = await act(requested.entitlementId, 'change-plan', { plan: 'max' });
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      error: { message: expect.stringMatching(/cancels and orders again/) },
    });

    const { entitlementId } = await activePurchase();
    expect((await act(entitlementId, 'change-plan', {})).status).toBe(400);
    expect((await act(entitlementId, 'change-plan', { plan: 'pro' })).status).toBe(400);
    expect(
      (await act(entitlementId, 'change-plan', { plan: 'max' })).body.entitlement,
    ).toMatchObject({
      state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
      newPendingPlan: 'max',
    });
    expect((await act(entitlementId, 'cancel-plan-change')).body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
      plan: 'pro',
    });
    expect(eventTypes().slice(-2)).toEqual([
      'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
      'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
    ]);
  });

  it('renews a term-based private offer, moving its end by one term', async () => {
    const { entitlementId } = await activePurchase({
      plan: 'pro',
      offer: { type: 'private', duration: 'P1Y' },
    });
    const before = await entitlement(entitlementId);
    expect(before).toMatchObject({ offerDuration: 'P1Y', offerEndTime: expect.any(String) });
    await act(entitlementId, 'renew');
    const after = await entitlement(entitlementId);
    const end = new Date(before.offerEndTime as string);
    end.setUTCFullYear(end.getUTCFullYear() + 1);
    expect(after.offerEndTime).toBe(end.toISOString());
    expect(eventTypes().at(-1)).toBe('ENTITLEMENT_RENEWED');
  });

  it('ends a private offer: cancelled by default, or active at list price', async () => {
    const cancelled = await activePurchase({
      plan: 'pro',
      offer: { type: 'private', duration: 'P1Y' },
    });
    expect((await act(cancelled.entitlementId, 'end-offer')).body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_CANCELLED',
      cancellationReason: 'expired',
    });
    expect(eventTypes().slice(-2)).toEqual(['ENTITLEMENT_OFFER_ENDED', 'ENTITLEMENT_CANCELLED']);

    const kept = await activePurchase({
      plan: 'pro',
      usage: true,
      offer: { type: 'private', duration: 'P1Y' },
    });
    const answer = await act(kept.entitlementId, 'end-offer', { cancel: false });
    expect(answer.body.entitlement).toMatchObject({ state: 'ENTITLEMENT_ACTIVE' });
    const ended = answer.body.entitlement as { offerEndTime: string };
    expect(Date.parse(ended.offerEndTime)).toBeLessThanOrEqual(Date.now());
    expect(eventTypes().at(-1)).toBe('ENTITLEMENT_OFFER_ENDED');

    const standard = await activePurchase();
    expect((await act(standard.entitlementId, 'end-offer')).status).toBe(409);
  });

  it('waits for a future offer start after approval, then activates on start-offer', async () => {
    const startTime = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const bought = await purchase({
      plan: 'pro',
      offer: { type: 'private', duration: 'P1Y', startTime },
    });
    expect((await act(bought.entitlementId, 'start-offer')).status).toBe(409);
    await api('POST', `accounts/${bought.accountId}:approve`);
    await api('POST', `entitlements/${bought.entitlementId}:approve`);
    expect(await entitlement(bought.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
      newOfferStartTime: startTime,
      offerEndTime: expect.any(String),
    });
    expect(eventTypes().at(-1)).toBe('ENTITLEMENT_CREATION_REQUESTED');
    expect((await api('POST', `entitlements/${bought.entitlementId}:approve`)).status).toBe(400);
    expect((await act(bought.entitlementId, 'start-offer')).body.entitlement).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
    });
    expect(eventTypes().at(-1)).toBe('ENTITLEMENT_ACTIVE');
  });

  it('deletes only a cancelled entitlement, which then answers 404', async () => {
    const { entitlementId } = await activePurchase();
    expect((await act(entitlementId, 'delete')).status).toBe(409);
    await act(entitlementId, 'cancel', { immediate: true });
    const deleted = await act(entitlementId, 'delete');
    expect(deleted.body).toEqual({
      entitlementId,
      deleted: true,
      messageIds: [expect.any(String)],
    });
    expect((await api('GET', `entitlements/${entitlementId}`)).status).toBe(404);
    expect(eventTypes().at(-1)).toBe('ENTITLEMENT_DELETED');
  });

  it('deletes an account: its live entitlements are cancelled, then everything answers 404', async () => {
    const first = await activePurchase();
    const second = await purchase({ plan: 'max', accountId: first.accountId });
    const answer = await post(`/_sim/gcp/accounts/${first.accountId}/delete`);
    expect(answer.body).toMatchObject({ accountId: first.accountId, deleted: true });
    expect(eventTypes().slice(-3)).toEqual([
      'ENTITLEMENT_CANCELLED',
      'ENTITLEMENT_CANCELLED',
      'ACCOUNT_DELETED',
    ]);
    expect(sim.gcp.messages().at(-1)!.payload).toEqual({
      eventId: expect.any(String),
      eventType: 'ACCOUNT_DELETED',
      providerId: PROVIDER,
      account: { id: first.accountId, updateTime: expect.any(String) },
    });
    expect((await api('GET', `accounts/${first.accountId}`)).status).toBe(404);
    expect((await api('GET', `entitlements/${first.entitlementId}`)).status).toBe(404);
    expect((await api('GET', `entitlements/${second.entitlementId}`)).status).toBe(404);
    expect((await post(`/_sim/gcp/accounts/${first.accountId}/delete`)).status).toBe(404);
  });

  it('shows the whole state, and forgets it on reset', async () => {
    await purchase();
    const state = (await (await fetch(`${sim.url}/_sim/gcp/state`)).json()) as {
      accounts: unknown[];
      entitlements: unknown[];
    };
    expect([state.accounts.length, state.entitlements.length]).toEqual([1, 1]);
    expect((await post('/_sim/reset')).body).toEqual({ ok: true });
    const after = (await (await fetch(`${sim.url}/_sim/gcp/state`)).json()) as {
      accounts: unknown[];
    };
    expect(after.accounts).toEqual([]);
    expect(sim.messages()).toEqual([]);
  });

  it('repeats ids under the same seed', async () => {
    const ids = async (seed: string) => {
      const other = await createSimulator({ seed, gcp: { providerId: PROVIDER } });
      try {
        const bought = await other.gcp.purchase({ plan: 'pro' });
        return [bought.accountId, bought.entitlementId, bought.orderId, ...bought.messageIds];
      } finally {
        await other.stop();
      }
    };
    expect(await ids('same')).toEqual(await ids('same'));
    expect(await ids('same')).not.toEqual(await ids('different'));
  });
});
