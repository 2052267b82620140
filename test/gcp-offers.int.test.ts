import { signUpAndSettle, startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';

describe('Google private offers and renewals', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack();
  });
  afterAll(async () => stack?.stop());

  const signUp = (token: string) => signUpAndSettle(stack, token);
  const stored = (id: string) => stack.store.getEntitlement({ cloud: 'gcp', id });

  it('keeps a private offer with its duration, and its renewal', async () => {
    const purchase = await stack.sim.gcp.purchase({
      plan: 'pro',
      offer: { type: 'private', duration: 'P1Y' },
    });
    await signUp(purchase.signupToken);
    const active = await stored(purchase.entitlementId);
    expect(active).toMatchObject({
      status: 'active',
      offer: { id: expect.stringContaining('privateOffers/'), duration: 'P1Y' },
    });

    await stack.sim.gcp.buyerAction(purchase.entitlementId, 'renew');
    const renewed = await stored(purchase.entitlementId);
    expect(renewed?.status).toBe('active');
    expect(renewed!.version).toBeGreaterThan(active!.version);
  });

  it('records an offer accepted for a later start', async () => {
    const startTime = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const purchase = await stack.sim.gcp.purchase({
      plan: 'pro',
      offer: { type: 'private', startTime, duration: 'P1Y', autoApproval: true },
    });
    await stack.sim.idle();
    const entitlement = await stored(purchase.entitlementId);
    const offerStart = entitlement?.pendingOffer?.startEpochMs ?? entitlement?.offer?.startEpochMs;
    expect(offerStart).toBe(Date.parse(startTime));
  });

  it('stays active at list price when an offer ends without cancelling', async () => {
    const purchase = await stack.sim.gcp.purchase({
      plan: 'pro',
      offer: { type: 'private', duration: 'P1Y' },
    });
    await signUp(purchase.signupToken);
    await stack.sim.gcp.buyerAction(purchase.entitlementId, 'end-offer', { cancel: false });
    expect((await stored(purchase.entitlementId))?.status).toBe('active');
  });

  it('cancels when an offer ends and cancels the purchase', async () => {
    const purchase = await stack.sim.gcp.purchase({
      plan: 'pro',
      offer: { type: 'private', duration: 'P1Y' },
    });
    await signUp(purchase.signupToken);
    await stack.sim.gcp.buyerAction(purchase.entitlementId, 'end-offer');
    expect((await stored(purchase.entitlementId))?.status).toBe('cancelled');
  });
});
