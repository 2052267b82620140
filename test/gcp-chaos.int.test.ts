import { createProcurementClient } from '../shared/adapters/gcp/procurement-client';
import { observeEntitlement } from '../shared/adapters/gcp/gcp-observation';
import type { ProcurementEntitlement } from '../shared/adapters/gcp/procurement-client';
import { startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';

/** A small deterministic shuffle, so a failing order can be replayed. */
const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const copy = [...items];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
};

describe('Google events delivered duplicated and out of order', () => {
  let stack: GcpStack;
  beforeAll(async () => {
    stack = await startGcpStack({ APPROVAL_POLICY: 'manual' });
    // Messages are held: the test delivers them, in the order it chooses.
    stack.sim.gcp.configurePush({ deliver: 'manual' });
  });
  afterAll(async () => stack?.stop());

  /** Drives one purchase through its life at the marketplace; returns its messages' ids. */
  const lifecycle = async (
    steps: 'full' | 'plan-change',
  ): Promise<{ id: string; messageIds: string[] }> => {
    const procurement = createProcurementClient({
      providerId: stack.sim.gcp.providerId,
      baseUrl: stack.sim.url,
    });
    const purchase = await stack.sim.gcp.purchase({ plan: 'pro' });
    const id = purchase.entitlementId;
    await procurement.approveAccount(purchase.accountId, 'signup');
    await procurement.approveEntitlement(id);
    await stack.sim.gcp.buyerAction(id, 'change-plan', { plan: 'team' });
    await procurement.approvePlanChange(id, 'team');
    if (steps === 'full') {
      await stack.sim.gcp.buyerAction(id, 'renew');
      await stack.sim.gcp.buyerAction(id, 'cancel');
      await stack.sim.gcp.buyerAction(id, 'revert-cancellation');
      await stack.sim.gcp.buyerAction(id, 'cancel', { immediate: true });
    }
    const messageIds = stack.sim.gcp
      .messages()
      .filter(
        (m) =>
          JSON.stringify(m.payload).includes(id) ||
          JSON.stringify(m.payload).includes(purchase.accountId),
      )
      .map((m) => m.id);
    return { id, messageIds };
  };

  const expectConverged = async (id: string) => {
    const truth = observeEntitlement(stack.sim.gcp.entitlement(id) as ProcurementEntitlement);
    const stored = await stack.store.getEntitlement({ cloud: 'gcp', id });
    expect(stored).toMatchObject({
      status: truth.status,
      plan: truth.plan,
      pendingPlan: truth.pendingPlan ?? null,
    });
    expect(stored?.snapshot?.updateTimeEpochMs).toBe(truth.snapshot.updateTimeEpochMs);
  };

  it.each([1, 2, 3])('converges whatever the order and the duplicates (seed %i)', async (seed) => {
    const { id, messageIds } = await lifecycle('full');
    const deliveries = shuffled([...messageIds, ...messageIds.slice(0, 3)], seed);
    for (const messageId of deliveries) {
      const delivered = await stack.sim.gcp.redeliver(messageId);
      expect(delivered.attempts.at(-1)?.status).toBe(204);
    }
    await expectConverged(id);
  });

  it('handles every event type of a lifecycle through the CloudEvent entry point too', async () => {
    const asCloudEvent = async (messageIds: readonly string[]) => {
      const messages = stack.sim.gcp.messages().filter((m) => messageIds.includes(m.id));
      for (const message of messages) {
        const response = await fetch(stack.urls.cloudEvent, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'ce-id': `ce-${message.id}`,
            'ce-specversion': '1.0',
            'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
            'ce-source':
              '//pubsub.googleapis.com/projects/cloudcommerceproc-prod/topics/demo-local',
          },
          body: JSON.stringify(message.envelope),
        });
        expect(response.status).toBeLessThan(300);
      }
      return messages.map((m) => (m.payload as { eventType: string }).eventType);
    };
    const { id, messageIds } = await lifecycle('full');
    const accountId = (stack.sim.gcp.entitlement(id) as { account: string }).account
      .split('/')
      .pop()!;
    const types = await asCloudEvent(messageIds);
    await expectConverged(id);

    const ending = [
      ...(await stack.sim.gcp.buyerAction(id, 'delete')).messageIds,
      ...(await stack.sim.gcp.deleteAccount(accountId)).messageIds,
    ];
    types.push(...(await asCloudEvent(ending)));

    expect([...new Set(types)].sort()).toEqual([
      'ACCOUNT_ACTIVE',
      'ACCOUNT_DELETED',
      'ENTITLEMENT_ACTIVE',
      'ENTITLEMENT_CANCELLATION_REVERTED',
      'ENTITLEMENT_CANCELLED',
      'ENTITLEMENT_CREATION_REQUESTED',
      'ENTITLEMENT_DELETED',
      'ENTITLEMENT_PENDING_CANCELLATION',
      'ENTITLEMENT_PLAN_CHANGED',
      'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
      'ENTITLEMENT_RENEWED',
    ]);
    expect(await stack.store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'deleted',
    });
    expect(await stack.store.getAccount({ cloud: 'gcp', id: accountId })).toMatchObject({
      status: 'deleted',
      personal: null,
    });
  });

  it('converges when the newest message comes first and the oldest last', async () => {
    const { id, messageIds } = await lifecycle('plan-change');
    for (const messageId of [...messageIds].reverse()) await stack.sim.gcp.redeliver(messageId);
    await expectConverged(id);
    expect(await stack.store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'active',
      plan: 'team',
    });
  });
});
