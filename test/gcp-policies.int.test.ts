import { postSignupForm, startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';

describe('approval policy: plans', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack({ APPROVAL_POLICY: 'plans', APPROVAL_PLANS: 'pro' });
  });
  afterAll(async () => stack?.stop());

  it('approves a listed plan once the buyer signed up', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
    });
  });

  it('rejects an unlisted plan with a reason, and records the cancellation', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'enterprise' });
    await stack.sim.idle();
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_CANCELLED',
    });
    expect(
      await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId }),
    ).toMatchObject({ status: 'cancelled' });
  });

  it('rejects a change to an unlisted plan and keeps the old plan', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();
    await stack.sim.gcp.buyerAction(purchase.entitlementId, 'change-plan', { plan: 'enterprise' });
    await stack.sim.idle();
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
      plan: 'pro',
    });
    expect(
      await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId }),
    ).toMatchObject({ status: 'active', plan: 'pro', pendingPlan: null });
  });
});

describe('approval policy: manual', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack({ APPROVAL_POLICY: 'manual' });
  });
  afterAll(async () => stack?.stop());

  it('leaves purchases and plan changes for a person, and tells the vendor', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    const response = await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();
    expect(response.status).toBe(303);
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
    });
    const stored = await stack.store.getEntitlement({ cloud: 'gcp', id: purchase.entitlementId });
    expect(stored).toMatchObject({ status: 'pending_approval', tenantId: expect.any(String) });
    const creation = stack.sim.gcp.messages().find((m) => m.id === purchase.messageIds[1])!;
    const eventId = (creation.payload as { eventId: string }).eventId;
    expect(await stack.store.getOutboxMessage(`gcp:${eventId}:0`)).toMatchObject({
      type: 'entitlement.pending_approval',
    });
  });
});
