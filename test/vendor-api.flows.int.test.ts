import { randomUUID } from 'node:crypto';
import { verifyHandoffToken } from '../shared/adapters/handoff/handoff-token';
import type { Handoff } from '../shared/adapters/handoff/handoff-token';
import { vendorIdOf } from '../shared/domain/vendor-events';
import { PRODUCT_CODE, postRegistration, startAwsStack } from './support/aws-stack';
import type { AwsStack } from './support/aws-stack';
import { billedFor, hourAgo, scheduledEvent, subscribe } from './support/aws-usage';
import type { Buyer } from './support/aws-usage';
import { HANDOFF_SECRET, signUpAndSettle, startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';
import {
  linkAccount,
  seedAccount,
  startAwsVendorApi,
  startGcpVendorApi,
  unlinkAccount,
} from './support/vendor-api';
import type { VendorApiUnderTest } from './support/vendor-api';
import { startWebhookReceiver } from './support/webhook-receiver';
import type { WebhookReceiver } from './support/webhook-receiver';

/**
 * The vendor API over what the real flows stored: purchases made on the simulator, delivered to
 * the events and notifications functions, signed up through the signup functions; the API then
 * runs on the same table or project, as it does deployed beside them.
 */

const iso = (epochMs: number) => new Date(epochMs).toISOString();
const MINUTE_MS = 60_000;

/** The handoff of a signup's 303, verified as the vendor's app does (both stacks share the secret). */
const handoffOf = (response: Response): Promise<Handoff> =>
  verifyHandoffToken(new URL(response.headers.get('location')!).searchParams.get('handoff')!, {
    secret: HANDOFF_SECRET,
  });

/** The account events the vendor API lists for an account since the test began. */
const accountEventsOf = async (api: VendorApiUnderTest, accountId: string, fromEpochMs: number) => {
  const log = await api.call({
    route: '/v1/events',
    query: { from: iso(fromEpochMs), to: iso(Date.now() + MINUTE_MS), limit: 100 },
  });
  return (log.json.items as Array<{ type: string; accountId: string; tenantId: string | null }>)
    .filter((event) => event.accountId === accountId && event.type.startsWith('account.'))
    .map((event) => [event.type, event.tenantId]);
};

/** Unlinks the account from its tenant through the API, as an admin does. */
const unlink = async (api: VendorApiUnderTest, tenantId: string, accountId: string) => {
  const unlinked = await unlinkAccount(api, tenantId, accountId);
  expect([unlinked.status, unlinked.json.tenantId]).toEqual([200, null]);
};

describe('the vendor API on AWS, after a buyer subscribed and registered', () => {
  let stack: AwsStack;
  let api: VendorApiUnderTest;
  const startedAtEpochMs = Date.now() - MINUTE_MS;
  beforeAll(async () => {
    stack = await startAwsStack();
    api = await startAwsVendorApi({ useCurrentTable: true });
  });
  afterAll(async () => {
    await api?.stop();
    await stack?.stop();
  });

  it('serves the purchase and the tenant, takes usage, and links the buyer’s second account', async () => {
    const bought = await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'eventbridge',
    });
    expect((await postRegistration(stack, bought.registrationToken)).status).toBe(303);
    const entitlementId = `aws:${bought.licenseArn}`;

    const purchase = await api.call({
      route: '/v1/entitlements/{id}',
      params: { id: entitlementId },
      raw: true,
    });
    expect(purchase.status).toBe(200);
    expect(purchase.json).toMatchObject({
      id: entitlementId,
      cloud: 'aws',
      marketplaceId: bought.licenseArn,
      accountId: `aws:${bought.customerAWSAccountId}`,
      productId: PRODUCT_CODE,
      status: 'active',
      tenantId: expect.any(String),
    });
    const { tenantId } = purchase.json as { tenantId: string };

    const tenant = await api.call({ route: '/v1/tenants/{tenantId}', params: { tenantId } });
    expect(tenant.json).toMatchObject({
      id: tenantId,
      accounts: [{ id: `aws:${bought.customerAWSAccountId}`, status: 'active', tenantId }],
      entitlements: [{ id: entitlementId }],
    });

    const log = await api.call({
      route: '/v1/events',
      query: { from: iso(startedAtEpochMs), to: iso(Date.now() + MINUTE_MS), limit: 100 },
    });
    const mine = (log.json.items as Array<{ type: string; accountId: string }>).filter(
      (event) => event.accountId === `aws:${bought.customerAWSAccountId}`,
    );
    expect(mine.map((event) => event.type)).toEqual(
      expect.arrayContaining(['account.signed_up', 'entitlement.activated']),
    );

    const usage = await api.call({
      method: 'POST',
      route: '/v1/usage',
      key: 'usage',
      body: {
        records: [
          {
            usageId: `flow-${bought.licenseArn}`,
            tenantId,
            dimension: 'requests',
            quantity: 3,
            timestamp: iso(Date.now() - 5 * MINUTE_MS),
          },
        ],
      },
    });
    expect(usage.json).toMatchObject({ accepted: 1, rejected: 0 });

    // The same buyer subscribes from another AWS account and never registers it.
    const second = await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'eventbridge',
    });
    const linked = await linkAccount(api, tenantId, `aws:${second.customerAWSAccountId}`);
    expect([linked.status, linked.json.tenantId]).toEqual([201, tenantId]);
    const after = await api.call({ route: '/v1/tenants/{tenantId}', params: { tenantId } });
    expect((after.json.entitlements as Array<{ id: string }>).map((e) => e.id).sort()).toEqual(
      [entitlementId, `aws:${second.licenseArn}`].sort(),
    );
  });

  it('signs a buyer an admin unlinked up again with a new tenant, which account.signed_up names', async () => {
    const startedAtEpochMs = Date.now() - MINUTE_MS;
    const bought = await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'eventbridge',
    });
    const accountId = `aws:${bought.customerAWSAccountId}`;
    const entitlementId = `aws:${bought.licenseArn}`;
    const first = await handoffOf(await postRegistration(stack, bought.registrationToken));
    await unlink(api, first.tenantId, accountId);

    // The buyer comes back from AWS Marketplace with a fresh registration token.
    const again = await postRegistration(stack, stack.sim.aws.registrationToken(bought.licenseArn));

    expect(again.status).toBe(303);
    const second = await handoffOf(again);
    expect(second.firstSignup).toBe(true);
    expect(second.tenantId).not.toBe(first.tenantId);
    const tenant = await api.call({
      route: '/v1/tenants/{tenantId}',
      params: { tenantId: second.tenantId },
    });
    expect(tenant.json).toMatchObject({
      accounts: [{ id: accountId, tenantId: second.tenantId }],
      entitlements: [{ id: entitlementId, tenantId: second.tenantId }],
    });
    expect(await accountEventsOf(api, accountId, startedAtEpochMs)).toEqual([
      ['account.signed_up', first.tenantId],
      ['account.unlinked', null],
      ['account.signed_up', second.tenantId],
    ]);
  });

  it("bills every buyer's hour, though one buyer reports more than AWS takes for an hour", async () => {
    const big = await subscribe(stack);
    const other = await subscribe(stack);
    const timestamp = iso(hourAgo(1) + MINUTE_MS);
    const record = (buyer: Buyer, quantity: number) => ({
      usageId: `flow-${randomUUID()}`,
      entitlementId: `aws:${buyer.entitlementId}`,
      dimension: 'requests',
      quantity,
      timestamp,
    });
    const usage = await api.call({
      method: 'POST',
      route: '/v1/usage',
      key: 'usage',
      body: {
        records: [record(big, 2_000_000_000), record(big, 2_000_000_000), record(other, 3)],
      },
    });
    expect(
      usage.json.results.map((r: { status: string; code?: string }) => [r.status, r.code]),
    ).toEqual([
      ['accepted', undefined],
      ['rejected', 'hour_total_too_large'],
      ['accepted', undefined],
    ]);

    await stack.metering(scheduledEvent());

    const billed = (buyer: Buyer) =>
      billedFor(stack, buyer)
        .filter((r) => r.dimension === 'requests' && Date.parse(r.hourStart) === hourAgo(1))
        .map((r) => r.quantity);
    expect(billed(big)).toEqual([2_000_000_000]);
    expect(billed(other)).toEqual([3]);
    expect(stack.sim.aws.refusedCalls()).toEqual([]);
  });
});

describe('the vendor API on Google Cloud, after a buyer purchased and signed up', () => {
  let stack: GcpStack;
  let api: VendorApiUnderTest;
  beforeAll(async () => {
    stack = await startGcpStack();
    api = await startGcpVendorApi({ useCurrentProject: true });
  });
  afterAll(async () => {
    await api?.stop();
    await stack?.stop();
  });

  it('serves the purchase, takes its usage, and unlinks the account', async () => {
    const bought = await stack.sim.gcp.purchase({ plan: 'pro' });
    await signUpAndSettle(stack, bought.signupToken);
    const entitlementId = `gcp:${bought.entitlementId}`;

    const purchase = await api.call({
      route: '/v1/entitlements/{id}',
      params: { id: entitlementId },
    });
    expect(purchase.json).toMatchObject({
      id: entitlementId,
      accountId: `gcp:${bought.accountId}`,
      status: 'active',
      plan: 'pro',
      tenantId: expect.any(String),
    });
    const { tenantId } = purchase.json as { tenantId: string };

    const timestamp = iso(Date.now() - 5 * MINUTE_MS);
    const usage = await api.call({
      method: 'POST',
      route: '/v1/usage',
      key: 'usage',
      body: {
        records: [
          {
            usageId: `flow-${bought.entitlementId}`,
            entitlementId,
            dimension: 'requests',
            quantity: 4,
            timestamp,
          },
        ],
      },
    });
    expect(usage.json).toMatchObject({ accepted: 1 });
    const hours = await api.call({ route: '/v1/usage', query: { entitlementId } });
    expect(hours.json.items).toMatchObject([{ dimension: 'requests', quantity: 4, state: 'open' }]);

    const unlinked = await unlinkAccount(api, tenantId, `gcp:${bought.accountId}`);
    expect([unlinked.status, unlinked.json.tenantId]).toEqual([200, null]);
    const after = await api.call({ route: '/v1/entitlements/{id}', params: { id: entitlementId } });
    expect(after.json.tenantId).toBeNull();
    expect((await api.call({ route: '/v1/tenants/{tenantId}', params: { tenantId } })).status).toBe(
      404,
    );
  });

  it('answers a signup form posted again after an admin unlink with a new tenant, which account.signed_up names', async () => {
    const startedAtEpochMs = Date.now() - MINUTE_MS;
    const bought = await stack.sim.gcp.purchase({ plan: 'pro' });
    const accountId = `gcp:${bought.accountId}`;
    const entitlementId = `gcp:${bought.entitlementId}`;
    const first = await handoffOf(await signUpAndSettle(stack, bought.signupToken));
    await unlink(api, first.tenantId, accountId);

    // The same token again (the browser re-posts the form): the signup is recorded already.
    const again = await signUpAndSettle(stack, bought.signupToken);

    expect(again.status).toBe(303);
    const second = await handoffOf(again);
    expect(second.firstSignup).toBe(true);
    expect(second.tenantId).not.toBe(first.tenantId);
    const purchase = await api.call({
      route: '/v1/entitlements/{id}',
      params: { id: entitlementId },
    });
    expect(purchase.json.tenantId).toBe(second.tenantId);
    const signedUp = [
      ['account.signed_up', first.tenantId],
      ['account.unlinked', null],
      ['account.signed_up', second.tenantId],
    ];
    expect(await accountEventsOf(api, accountId, startedAtEpochMs)).toEqual(signedUp);

    // Once more: the account has its tenant, so nothing changes.
    const third = await handoffOf(await signUpAndSettle(stack, bought.signupToken));
    expect(third).toMatchObject({ tenantId: second.tenantId, firstSignup: false });
    expect(await accountEventsOf(api, accountId, startedAtEpochMs)).toEqual(signedUp);
  });

  it('gives an account an admin unlinked, and its orders, a new tenant at its next signup', async () => {
    const startedAtEpochMs = Date.now() - MINUTE_MS;
    const bought = await stack.sim.gcp.purchase({ plan: 'pro' });
    const accountId = `gcp:${bought.accountId}`;
    const first = await handoffOf(await signUpAndSettle(stack, bought.signupToken));
    await unlink(api, first.tenantId, accountId);

    const order = await stack.sim.gcp.purchase({ plan: 'team', accountId: bought.accountId });
    // The token Google issues for this signup: issued at another time, so another signup.
    const token = stack.sim.gcp.signupToken(bought.accountId, {
      nowSeconds: Math.floor(Date.now() / 1000) - 30,
    });
    const response = await signUpAndSettle(stack, token);

    expect(response.status).toBe(303);
    const second = await handoffOf(response);
    expect(second.firstSignup).toBe(true);
    for (const id of [bought.entitlementId, order.entitlementId]) {
      const purchase = await api.call({
        route: '/v1/entitlements/{id}',
        params: { id: `gcp:${id}` },
      });
      expect(purchase.json).toMatchObject({ status: 'active', tenantId: second.tenantId });
    }
    expect(await accountEventsOf(api, accountId, startedAtEpochMs)).toEqual([
      ['account.signed_up', first.tenantId],
      ['account.unlinked', null],
      ['account.signed_up', second.tenantId],
    ]);
  });
});

describe.each(['aws', 'gcp'] as const)(
  'the vendor API on %s with webhooks configured',
  (platform) => {
    const SECRET = 'vendor-api-webhook-secret-0123456789';
    let receiver: WebhookReceiver;
    let api: VendorApiUnderTest;
    beforeAll(async () => {
      receiver = await startWebhookReceiver({ secrets: [SECRET], nowEpochMs: Date.now });
      const env = { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRETS: SECRET };
      api =
        platform === 'aws' ? await startAwsVendorApi({ env }) : await startGcpVendorApi({ env });
    });
    afterAll(async () => {
      await api?.stop();
      await receiver?.close();
      // The next suites of this worker start without webhooks.
      Object.assign(process.env, { WEBHOOK_URLS: '', WEBHOOK_SECRETS: '' });
    });

    it('delivers the event of a link at once, and a replayed event again', async () => {
      const account = await seedAccount(api.store, { cloud: platform, status: 'active' });
      const tenantId = `tenant-${randomUUID()}`;
      const linked = await linkAccount(api, tenantId, vendorIdOf(account));
      expect(linked.status).toBe(201);
      const [delivered] = receiver.received;
      expect(delivered?.event).toMatchObject({
        type: 'account.linked',
        accountId: vendorIdOf(account),
        tenantId,
      });
      const event = await api.call({
        route: '/v1/events/{id}',
        params: { id: delivered!.event.id },
      });
      expect(event.json.delivery).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(event.json.deliveries).toMatchObject([{ outcome: 'delivered', statusCode: 204 }]);

      const replayed = await api.call({
        method: 'POST',
        route: '/v1/events/{id}/replay',
        params: { id: delivered!.event.id },
        key: 'admin',
      });
      expect(replayed.status).toBe(202);
      expect(receiver.received.map((r) => r.event.id)).toEqual([
        delivered!.event.id,
        delivered!.event.id,
      ]);
      expect(replayed.json.delivery).toMatchObject({ status: 'delivered' });
    });
  },
);
