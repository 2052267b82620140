import { verifyHandoffToken } from '../shared/adapters/handoff/handoff-token';
import type { Entitlement } from '../shared/domain/model';
import { HANDOFF_SECRET, ONBOARDING_URL, postSignupForm, startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';

const stored = (stack: GcpStack, id: string) => stack.store.getEntitlement({ cloud: 'gcp', id });
const outboxTypes = async (stack: GcpStack, eventIds: readonly string[]) => {
  const types: string[] = [];
  for (const eventId of eventIds) {
    for (let i = 0; i < 4; i += 1) {
      const message = await stack.store.getOutboxMessage(`gcp:${eventId}:${i}`);
      if (message) types.push(message.type);
    }
  }
  return types;
};
const eventIdsOf = (stack: GcpStack) =>
  stack.sim.gcp.messages().map((m) => (m.payload as { eventId: string }).eventId);

describe('Google Cloud Marketplace, end to end (auto approval)', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack();
  });
  afterAll(async () => stack?.stop());

  it('takes a purchase from order to active through a verified signup', async () => {
    // Arrange: the buyer orders; the events arrive before the signup.
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    const pending = await stored(stack, purchase.entitlementId);
    expect(pending).toMatchObject({ status: 'pending_approval', plan: 'pro', tenantId: null });
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
      messageToUser: expect.stringContaining('sign'),
    });
    expect(await stack.store.getAccount({ cloud: 'gcp', id: purchase.accountId })).toMatchObject({
      status: 'pending_signup',
    });

    // Act: the buyer signs up; the approval's ENTITLEMENT_ACTIVE arrives in the background.
    const response = await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();

    // Assert
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(
      new URL(ONBOARDING_URL).origin + new URL(ONBOARDING_URL).pathname,
    );
    expect(location.searchParams.get('from')).toBe('marketplace');
    const handoff = await verifyHandoffToken(location.searchParams.get('handoff')!, {
      secret: HANDOFF_SECRET,
    });
    expect(handoff).toMatchObject({
      cloud: 'gcp',
      accountId: purchase.accountId,
      firstSignup: true,
    });

    const account = await stack.store.getAccount({ cloud: 'gcp', id: purchase.accountId });
    expect(account).toMatchObject({ status: 'active', tenant: { tenantId: handoff.tenantId } });
    expect(stack.sim.gcp.account(purchase.accountId)).toMatchObject({
      approvals: [expect.objectContaining({ name: 'signup', state: 'APPROVED' })],
    });
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
    });
    expect(await stored(stack, purchase.entitlementId)).toMatchObject({
      status: 'active',
      tenantId: handoff.tenantId,
    });
    expect(await outboxTypes(stack, eventIdsOf(stack))).toEqual(
      expect.arrayContaining(['entitlement.pending_approval', 'entitlement.activated']),
    );
  });

  it('approves a plan change with the pending plan, then applies it', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();
    await stack.sim.gcp.buyerAction(purchase.entitlementId, 'change-plan', { plan: 'team' });
    await stack.sim.idle();
    expect(stack.sim.gcp.entitlement(purchase.entitlementId)).toMatchObject({
      state: 'ENTITLEMENT_ACTIVE',
      plan: 'team',
    });
    expect(await stored(stack, purchase.entitlementId)).toMatchObject({
      status: 'active',
      plan: 'team',
      pendingPlan: null,
    });
  });

  it('follows a cancellation, its revert, and the end of the purchase', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();
    const id = purchase.entitlementId;

    await stack.sim.gcp.buyerAction(id, 'cancel');
    expect((await stored(stack, id))?.status).toBe('pending_cancellation');
    await stack.sim.gcp.buyerAction(id, 'revert-cancellation');
    expect((await stored(stack, id))?.status).toBe('active');
    await stack.sim.gcp.buyerAction(id, 'cancel', { immediate: true });
    expect((await stored(stack, id))?.status).toBe('cancelled');
    await stack.sim.gcp.buyerAction(id, 'delete');
    expect((await stored(stack, id))?.status).toBe('deleted');
  });

  it('links a second order of the same account to the same tenant', async () => {
    const first = await stack.sim.gcp.purchase({ plan: 'pro' });
    const response = await postSignupForm(stack, first.signupToken);
    const tenantId = (
      await verifyHandoffToken(
        new URL(response.headers.get('location')!).searchParams.get('handoff')!,
        { secret: HANDOFF_SECRET },
      )
    ).tenantId;
    const second = await stack.sim.gcp.purchase({ plan: 'team', accountId: first.accountId });
    const again = await postSignupForm(stack, second.signupToken);
    expect(again.status).toBe(303);
    const entitlements: Entitlement[] = [];
    for (const id of [first.entitlementId, second.entitlementId])
      entitlements.push((await stored(stack, id))!);
    expect(entitlements.map((e) => [e.status, e.tenantId])).toEqual([
      ['active', tenantId],
      ['active', tenantId],
    ]);
  });

  it('purges personal data when Google deletes the account', async () => {
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    await postSignupForm(stack, purchase.signupToken);
    await stack.sim.idle();
    expect(
      (await stack.store.getAccount({ cloud: 'gcp', id: purchase.accountId }))?.personal,
    ).not.toBeNull();
    await stack.sim.gcp.deleteAccount(purchase.accountId);
    const account = await stack.store.getAccount({ cloud: 'gcp', id: purchase.accountId });
    expect(account).toMatchObject({ status: 'deleted', personal: null });
    expect(account?.snapshot?.data).toEqual({});
    // Its purchases' raw resources and consumer id went with it, each purge audited.
    const entitlement = await stored(stack, purchase.entitlementId);
    expect(entitlement).toMatchObject({
      usageReportingId: null,
      purgedAtEpochMs: expect.any(Number),
    });
    expect(entitlement?.snapshot?.data).toEqual({});
    const audits = [];
    for (let version = 1; version < entitlement!.version; version += 1) {
      const id = `purge:entitlement:${purchase.entitlementId}:v${version}`;
      audits.push(await stack.store.getEvent('gcp', id));
    }
    expect(audits.filter(Boolean)).toEqual([
      expect.objectContaining({ type: 'PERSONAL_DATA_PURGED', reason: 'account_deleted' }),
    ]);
  });
});
