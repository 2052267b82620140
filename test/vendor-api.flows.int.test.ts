import { randomUUID } from 'node:crypto';
import { vendorIdOf } from '../shared/domain/vendor-events';
import { PRODUCT_CODE, postRegistration, startAwsStack } from './support/aws-stack';
import type { AwsStack } from './support/aws-stack';
import { signUpAndSettle, startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';
import { seedAccount, startAwsVendorApi, startGcpVendorApi } from './support/vendor-api';
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
    const linked = await api.call({
      method: 'POST',
      route: '/v1/tenants/{tenantId}/accounts',
      params: { tenantId },
      key: 'admin',
      body: { accountId: `aws:${second.customerAWSAccountId}` },
    });
    expect([linked.status, linked.json.tenantId]).toEqual([201, tenantId]);
    const after = await api.call({ route: '/v1/tenants/{tenantId}', params: { tenantId } });
    expect((after.json.entitlements as Array<{ id: string }>).map((e) => e.id).sort()).toEqual(
      [entitlementId, `aws:${second.licenseArn}`].sort(),
    );
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

    const unlinked = await api.call({
      method: 'DELETE',
      route: '/v1/tenants/{tenantId}/accounts/{accountId}',
      params: { tenantId, accountId: `gcp:${bought.accountId}` },
      key: 'admin',
    });
    expect([unlinked.status, unlinked.json.tenantId]).toEqual([200, null]);
    const after = await api.call({ route: '/v1/entitlements/{id}', params: { id: entitlementId } });
    expect(after.json.tenantId).toBeNull();
    expect((await api.call({ route: '/v1/tenants/{tenantId}', params: { tenantId } })).status).toBe(
      404,
    );
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
      const linked = await api.call({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId },
        key: 'admin',
        body: { accountId: vendorIdOf(account) },
      });
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
