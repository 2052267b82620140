import { OAuth2Client } from 'google-auth-library';
import { cloudcommerceprocurement_v1 } from 'googleapis/build/src/apis/cloudcommerceprocurement';
import type { Simulator } from '../server';
import { createSimulator } from '../server';

/**
 * The official client, unchanged but for its root URL: what the functions use. Under jest,
 * gaxios must be given `fetch`: its default is `await import('node-fetch')`, which jest's
 * CommonJS runtime refuses without --experimental-vm-modules.
 */
const procurementClient = (url: string): cloudcommerceprocurement_v1.Cloudcommerceprocurement => {
  const auth = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
  auth.setCredentials({ access_token: 'local' });
  return new cloudcommerceprocurement_v1.Cloudcommerceprocurement({
    rootUrl: `${url}/`,
    auth,
    fetchImplementation: fetch,
  });
};

/** What googleapis rejects with: a GaxiosError carrying the HTTP status and Google's body. */
const failure = async (call: Promise<unknown>) => {
  const error = (await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (caught: unknown) => caught,
  )) as Error & { status: number; response?: { data: unknown } };
  return {
    // GaxiosError leaves `name` as "Error"; its class says what it is.
    name: error.constructor.name,
    status: error.status,
    message: error.message,
    body: error.response?.data,
  };
};

const PROVIDER = 'DEMO-test';
const parent = `providers/${PROVIDER}`;

describe('Partner Procurement API through the official googleapis client', () => {
  let sim: Simulator;
  let api: cloudcommerceprocurement_v1.Cloudcommerceprocurement;
  const accounts = () => api.providers.accounts;
  const entitlements = () => api.providers.entitlements;
  const eventTypes = () => sim.gcp.messages().map((m) => m.eventType);

  beforeAll(async () => {
    sim = await createSimulator({
      seed: 'procurement',
      gcp: { providerId: PROVIDER, productDomains: ['demo.example.com', 'other.example.com'] },
    });
    api = procurementClient(sim.url);
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  it('gets a purchased account and entitlement as the API shapes them', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro', usage: true });

    const { data: account } = await accounts().get({
      name: `${parent}/accounts/${bought.accountId}`,
    });
    expect(account).toEqual({
      name: `${parent}/accounts/${bought.accountId}`,
      provider: PROVIDER,
      state: 'ACCOUNT_ACTIVE',
      approvals: [{ name: 'signup', state: 'PENDING', updateTime: expect.any(String) }],
      createTime: expect.any(String),
      updateTime: expect.any(String),
    });

    const { data: entitlement } = await entitlements().get({
      name: `${parent}/entitlements/${bought.entitlementId}`,
    });
    expect(entitlement).toEqual({
      name: `${parent}/entitlements/${bought.entitlementId}`,
      account: `${parent}/accounts/${bought.accountId}`,
      provider: PROVIDER,
      product: 'demo.example.com',
      productExternalName: 'demo.example.com',
      plan: 'pro',
      state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
      offer: expect.stringMatching(
        /^projects\/\d+\/services\/demo\.example\.com\/standardOffers\/[\w-]+$/,
      ),
      usageReportingId: expect.stringMatching(/^project_number:\d{12}$/),
      orderId: bought.orderId,
      createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updateTime: expect.any(String),
    });
    expect(eventTypes()).toEqual(['ACCOUNT_ACTIVE', 'ENTITLEMENT_CREATION_REQUESTED']);
  });

  it('leaves usageReportingId out unless the plan is usage-based', async () => {
    const bought = await sim.gcp.purchase({ plan: 'flat' });
    const { data } = await entitlements().get({
      name: `${parent}/entitlements/${bought.entitlementId}`,
    });
    expect(data).not.toHaveProperty('usageReportingId');
  });

  it('answers 401 without a bearer token and 403 for another provider', async () => {
    const response = await fetch(`${sim.url}/v1/${parent}/accounts`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await response.json()).toEqual({
      error: { code: 401, message: expect.any(String), status: 'UNAUTHENTICATED' },
    });

    expect(await failure(accounts().list({ parent: 'providers/SOMEONE-else' }))).toMatchObject({
      status: 403,
      body: { error: { code: 403, status: 'PERMISSION_DENIED' } },
    });
  });

  it('answers 404 NOT_FOUND for an unknown account or entitlement', async () => {
    expect(await failure(accounts().get({ name: `${parent}/accounts/nope` }))).toMatchObject({
      name: 'GaxiosError',
      status: 404,
      body: { error: { code: 404, status: 'NOT_FOUND' } },
    });
    expect(
      await failure(entitlements().get({ name: `${parent}/entitlements/nope` })),
    ).toMatchObject({
      status: 404,
    });
  });

  it('pages accounts 25 at a time by default, up to 200 when asked', async () => {
    for (let i = 0; i < 30; i += 1) await sim.gcp.purchase({ plan: 'pro' });

    const first = await accounts().list({ parent });
    expect(first.data.accounts).toHaveLength(25);
    expect(first.data.nextPageToken).toEqual(expect.any(String));
    const second = await accounts().list({ parent, pageToken: first.data.nextPageToken! });
    expect(second.data.accounts).toHaveLength(5);
    expect(second.data.nextPageToken).toBeUndefined();
    const names = [...first.data.accounts!, ...second.data.accounts!].map((a) => a.name);
    expect(new Set(names).size).toBe(30);

    const all = await accounts().list({ parent, pageSize: 1000 });
    expect(all.data.accounts).toHaveLength(30);
    expect(all.data.nextPageToken).toBeUndefined();

    expect(await failure(accounts().list({ parent, pageToken: 'garbage' }))).toMatchObject({
      status: 400,
    });
  });

  it('answers an empty list with an empty object, as Google leaves empty fields out', async () => {
    expect((await accounts().list({ parent })).data).toEqual({});
    expect((await entitlements().list({ parent })).data).toEqual({});
  });

  describe('entitlements.list filter', () => {
    let alice: { accountId: string; entitlementId: string };
    let bob: { accountId: string; entitlementId: string };
    let bobSecond: { entitlementId: string };

    beforeEach(async () => {
      alice = await sim.gcp.purchase({ plan: 'pro', consumers: ['projects/111'] });
      bob = await sim.gcp.purchase({ plan: 'basic', quoteExternalName: 'quote-7' });
      bobSecond = await sim.gcp.purchase({
        plan: 'max',
        accountId: bob.accountId,
        productExternalName: 'other.example.com',
        offer: { id: 'po-1', type: 'private', duration: 'P1Y' },
      });
      await accounts().approve({ name: `${parent}/accounts/${alice.accountId}`, requestBody: {} });
      await entitlements().approve({
        name: `${parent}/entitlements/${alice.entitlementId}`,
        requestBody: {},
      });
    });

    const ids = async (filter: string, pageSize?: number): Promise<string[]> => {
      const found: string[] = [];
      let pageToken: string | undefined;
      do {
        const { data } = await entitlements().list({ parent, filter, pageSize, pageToken });
        found.push(...(data.entitlements ?? []).map((e) => e.name!.split('/').pop()!));
        pageToken = data.nextPageToken ?? undefined;
      } while (pageToken);
      return found;
    };

    it.each([
      ['state=active', ['alice']],
      ['state=ACTIVATION_REQUESTED', ['bob', 'bobSecond']],
      ['state=entitlement_activation_requested plan=max', ['bobSecond']],
      ['plan=pro OR plan=basic', ['alice', 'bob']],
      ['NOT plan=pro', ['bob', 'bobSecond']],
      ['plan!=pro', ['bob', 'bobSecond']],
      ['product_external_name="other.example.com"', ['bobSecond']],
      ['quote_external_name=quote-7', ['bob']],
      ['offer=po-1', ['bobSecond']],
      ['consumers.project:projects/111', ['alice']],
      ['state=activation_requested AND (plan=basic OR plan=pro)', ['bob']],
    ])('%s', async (filter, expected) => {
      const byName: Record<string, string> = {
        [alice.entitlementId]: 'alice',
        [bob.entitlementId]: 'bob',
        [bobSecond.entitlementId]: 'bobSecond',
      };
      expect((await ids(filter)).map((id) => byName[id])).toEqual(expected);
    });

    it('filters by account id or name, and by billing account', async () => {
      expect(await ids(`account=${bob.accountId}`)).toEqual([
        bob.entitlementId,
        bobSecond.entitlementId,
      ]);
      expect(await ids(`account="${parent}/accounts/${alice.accountId}"`)).toEqual([
        alice.entitlementId,
      ]);
    });

    it('pages through a filtered list', async () => {
      expect(await ids('state=activation_requested', 1)).toEqual([
        bob.entitlementId,
        bobSecond.entitlementId,
      ]);
    });

    it('refuses a malformed filter or an unsupported attribute with 400 INVALID_ARGUMENT', async () => {
      for (const filter of [
        'state=',
        'colour=red',
        'consumers.project=projects/111',
        '(plan=pro',
      ]) {
        expect(await failure(entitlements().list({ parent, filter }))).toMatchObject({
          status: 400,
          body: {
            error: {
              status: 'INVALID_ARGUMENT',
              message: expect.stringMatching(/^Invalid filter/),
            },
          },
        });
      }
    });

    it('refuses a page token made for another filter', async () => {
      const { data } = await entitlements().list({
        parent,
        filter: 'state=activation_requested',
        pageSize: 1,
      });
      expect(
        await failure(
          entitlements().list({ parent, filter: 'plan=max', pageToken: data.nextPageToken! }),
        ),
      ).toMatchObject({ status: 400 });
    });
  });

  describe('approvals', () => {
    it("refuses an entitlement approval with 400 FAILED_PRECONDITION until the account's signup is approved", async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro' });
      const name = `${parent}/entitlements/${bought.entitlementId}`;

      const refused = await failure(entitlements().approve({ name, requestBody: {} }));
      expect(refused).toMatchObject({ name: 'GaxiosError', status: 400 });
      expect(refused.body).toEqual({
        error: { code: 400, message: 'Precondition check failed.', status: 'FAILED_PRECONDITION' },
      });
      expect((await entitlements().get({ name })).data.state).toBe(
        'ENTITLEMENT_ACTIVATION_REQUESTED',
      );

      await accounts().approve({
        name: `${parent}/accounts/${bought.accountId}`,
        requestBody: { approvalName: 'signup', reason: 'signed up' },
      });
      const { data: account } = await accounts().get({
        name: `${parent}/accounts/${bought.accountId}`,
      });
      expect(account.approvals).toEqual([
        { name: 'signup', state: 'APPROVED', reason: 'signed up', updateTime: account.updateTime },
      ]);

      expect((await entitlements().approve({ name, requestBody: {} })).status).toBe(200);
      expect((await entitlements().get({ name })).data.state).toBe('ENTITLEMENT_ACTIVE');
      expect(eventTypes()).toEqual([
        'ACCOUNT_ACTIVE',
        'ENTITLEMENT_CREATION_REQUESTED',
        'ENTITLEMENT_ACTIVE',
      ]);

      // Approving again is a precondition failure: the functions re-GET and reconcile.
      expect(await failure(entitlements().approve({ name, requestBody: {} }))).toMatchObject({
        status: 400,
      });
    });

    it('needs approvalName when the account has several approvals', async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro', approvals: ['signup', 'provisioning'] });
      const name = `${parent}/accounts/${bought.accountId}`;
      expect(await failure(accounts().approve({ name, requestBody: {} }))).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
      await accounts().approve({ name, requestBody: { approvalName: 'provisioning' } });
      const { data } = await accounts().get({ name });
      expect(data.approvals!.map((a) => [a.name, a.state])).toEqual([
        ['signup', 'PENDING'],
        ['provisioning', 'APPROVED'],
      ]);
    });

    it('rejects an approval, which can be approved later', async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro' });
      const name = `${parent}/accounts/${bought.accountId}`;
      await accounts().reject({
        name,
        requestBody: { approvalName: 'signup', reason: 'x'.repeat(300) },
      });
      let approval = (await accounts().get({ name })).data.approvals![0]!;
      expect(approval.state).toBe('REJECTED');
      expect(approval.reason).toHaveLength(256);
      await accounts().approve({ name, requestBody: {} });
      approval = (await accounts().get({ name })).data.approvals![0]!;
      expect(approval.state).toBe('APPROVED');
    });

    it('refuses fields the method does not define, in the body or the query', async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro' });
      const name = `${parent}/accounts/${bought.accountId}`;
      expect(
        await failure(
          accounts().approve({
            name,
            requestBody: { approvalName: 'signup', colour: 'red' } as object,
          }),
        ),
      ).toMatchObject({ status: 400, message: expect.stringMatching(/Unknown name "colour"/) });
      // A sample's bug: the body's fields passed as parameters never reach the API.
      expect(
        await failure(
          accounts().approve({ name, approvalName: 'signup' } as unknown as { name: string }),
        ),
      ).toMatchObject({
        status: 400,
        message: expect.stringMatching(/Cannot bind query parameter/),
      });
    });

    it('resets an account: approvals pending again, entitlements cancelled, no message', async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro' });
      await accounts().approve({ name: `${parent}/accounts/${bought.accountId}`, requestBody: {} });
      await entitlements().approve({
        name: `${parent}/entitlements/${bought.entitlementId}`,
        requestBody: {},
      });
      const before = sim.gcp.messages().length;

      await accounts().reset({ name: `${parent}/accounts/${bought.accountId}` });

      const { data: account } = await accounts().get({
        name: `${parent}/accounts/${bought.accountId}`,
      });
      expect(account.approvals![0]!.state).toBe('PENDING');
      const { data: entitlement } = await entitlements().get({
        name: `${parent}/entitlements/${bought.entitlementId}`,
      });
      expect(entitlement.state).toBe('ENTITLEMENT_CANCELLED');
      expect(sim.gcp.messages()).toHaveLength(before);
    });
  });

  describe('entitlement changes', () => {
    const activePurchase = async (plan = 'pro') => {
      const bought = await sim.gcp.purchase({ plan });
      await accounts().approve({ name: `${parent}/accounts/${bought.accountId}`, requestBody: {} });
      await entitlements().approve({
        name: `${parent}/entitlements/${bought.entitlementId}`,
        requestBody: {},
      });
      return { ...bought, name: `${parent}/entitlements/${bought.entitlementId}` };
    };

    it('approves a plan change only with the pending plan, then changes the plan at once', async () => {
      const { name, entitlementId } = await activePurchase();
      await sim.gcp.buyerAction(entitlementId, 'change-plan', { plan: 'max' });
      const { data: pending } = await entitlements().get({ name });
      expect(pending).toMatchObject({
        state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
        plan: 'pro',
        newPendingPlan: 'max',
      });

      expect(
        await failure(entitlements().approvePlanChange({ name, requestBody: {} })),
      ).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
      expect(
        await failure(
          entitlements().approvePlanChange({ name, requestBody: { pendingPlanName: 'basic' } }),
        ),
      ).toMatchObject({ status: 400, body: { error: { status: 'FAILED_PRECONDITION' } } });

      await entitlements().approvePlanChange({ name, requestBody: { pendingPlanName: 'max' } });
      const { data: changed } = await entitlements().get({ name });
      expect(changed).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'max' });
      expect(changed).not.toHaveProperty('newPendingPlan');
      expect(Date.parse(changed.updateTime!)).toBeGreaterThan(Date.parse(pending.updateTime!));

      const last = sim.gcp.messages().at(-1)!;
      expect(last.payload).toEqual({
        eventId: expect.any(String),
        eventType: 'ENTITLEMENT_PLAN_CHANGED',
        providerId: PROVIDER,
        entitlement: { id: entitlementId, updateTime: changed.updateTime, newPlan: 'max' },
      });

      // Not pending any more: a second approval is a precondition failure.
      expect(
        await failure(
          entitlements().approvePlanChange({ name, requestBody: { pendingPlanName: 'max' } }),
        ),
      ).toMatchObject({ status: 400 });
    });

    it('rejects a plan change: active on the old plan', async () => {
      const { name, entitlementId } = await activePurchase();
      await sim.gcp.buyerAction(entitlementId, 'change-plan', { plan: 'max' });
      await entitlements().rejectPlanChange({
        name,
        requestBody: { pendingPlanName: 'max', reason: 'no' },
      });
      expect((await entitlements().get({ name })).data).toMatchObject({
        state: 'ENTITLEMENT_ACTIVE',
        plan: 'pro',
      });
      expect(sim.gcp.messages().at(-1)!.payload).toMatchObject({
        eventType: 'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
        entitlement: { newPlan: 'max' },
      });
    });

    it('rejects a requested entitlement: cancelled with the reason', async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro' });
      const name = `${parent}/entitlements/${bought.entitlementId}`;
      await entitlements().reject({ name, requestBody: { reason: 'not in your region' } });
      expect((await entitlements().get({ name })).data).toMatchObject({
        state: 'ENTITLEMENT_CANCELLED',
        cancellationReason: 'not in your region',
      });
      expect(eventTypes().at(-1)).toBe('ENTITLEMENT_CANCELLED');
      expect(await failure(entitlements().reject({ name, requestBody: {} }))).toMatchObject({
        status: 400,
      });
    });

    it('patches messageToUser only while the buyer waits on the provider', async () => {
      const bought = await sim.gcp.purchase({ plan: 'pro' });
      const name = `${parent}/entitlements/${bought.entitlementId}`;
      const { data } = await entitlements().patch({
        name,
        updateMask: 'messageToUser',
        requestBody: { messageToUser: 'Finish signing up to activate.' },
      });
      expect(data).toMatchObject({ name, messageToUser: 'Finish signing up to activate.' });

      expect(
        await failure(
          entitlements().patch({ name, updateMask: 'plan', requestBody: { plan: 'max' } }),
        ),
      ).toMatchObject({ status: 400, body: { error: { status: 'INVALID_ARGUMENT' } } });
      expect(
        await failure(entitlements().patch({ name, requestBody: { messageToUser: 'x' } })),
      ).toMatchObject({
        status: 400,
      });

      // Cleared by the next change of state; and an active entitlement cannot take one.
      await accounts().approve({ name: `${parent}/accounts/${bought.accountId}`, requestBody: {} });
      await entitlements().approve({ name, requestBody: {} });
      expect((await entitlements().get({ name })).data).not.toHaveProperty('messageToUser');
      expect(
        await failure(
          entitlements().patch({
            name,
            updateMask: 'messageToUser',
            requestBody: { messageToUser: 'x' },
          }),
        ),
      ).toMatchObject({ status: 400, body: { error: { status: 'FAILED_PRECONDITION' } } });
    });

    it('answers 404 once an entitlement is deleted', async () => {
      const { name, entitlementId } = await activePurchase();
      await sim.gcp.buyerAction(entitlementId, 'cancel', { immediate: true });
      await sim.gcp.buyerAction(entitlementId, 'delete');
      expect(await failure(entitlements().get({ name }))).toMatchObject({
        name: 'GaxiosError',
        status: 404,
        body: { error: { code: 404, status: 'NOT_FOUND' } },
      });
      expect(eventTypes().slice(-2)).toEqual(['ENTITLEMENT_CANCELLED', 'ENTITLEMENT_DELETED']);
    });

    it('moves updateTime strictly forward on every change', async () => {
      const { name, entitlementId } = await activePurchase();
      const times = [(await entitlements().get({ name })).data.updateTime!];
      await sim.gcp.buyerAction(entitlementId, 'change-plan', { plan: 'max' });
      times.push((await entitlements().get({ name })).data.updateTime!);
      await entitlements().patch({
        name,
        updateMask: 'messageToUser',
        requestBody: { messageToUser: 'soon' },
      });
      times.push((await entitlements().get({ name })).data.updateTime!);
      await entitlements().approvePlanChange({ name, requestBody: { pendingPlanName: 'max' } });
      times.push((await entitlements().get({ name })).data.updateTime!);
      await sim.gcp.buyerAction(entitlementId, 'cancel');
      times.push((await entitlements().get({ name })).data.updateTime!);
      const epochs = times.map((t) => Date.parse(t));
      expect([...epochs].sort((a, b) => a - b)).toEqual(epochs);
      expect(new Set(epochs).size).toBe(epochs.length);
    });

    it('does not support suspend', async () => {
      const { name } = await activePurchase();
      expect(await failure(entitlements().suspend({ name, requestBody: {} }))).toMatchObject({
        status: 501,
      });
    });
  });
});
