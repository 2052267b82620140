import { randomUUID } from 'node:crypto';
import { GONE } from '../domain/decision';
import type { MarketplaceEventCommand, Observation, ObservedEntitlement } from '../domain/decision';
import { ConcurrencyConflictError } from '../domain/errors';
import type { EntitlementStatus } from '../domain/model';
import { createJsonLogger } from '../adapters/logging/json-logger';
import type { Clock } from '../ports/clock';
import type { MarketplaceObserver } from '../ports/marketplace';
import type { Store } from '../ports/store';
import type { StoreUnderTest } from '../test/store-contract';
import { T0, aDecision, anAccount } from '../test/builders';
import { STORES_UNDER_TEST } from '../../test/support/stores';
import { handleMarketplaceEvent } from './handle-marketplace-event';
import { unlinkTenantAccount } from './link-tenant-account';

/**
 * The marketplace as the use case sees it: whatever state a purchase is in now. Tests move it
 * like a buyer would and count the re-reads.
 */
const aMarketplace = () => {
  const entitlements = new Map<string, ObservedEntitlement | typeof GONE>();
  let reads = 0;
  let beforeAnswer: () => Promise<void> = async () => undefined;
  const observer: MarketplaceObserver = {
    observe: async (command: MarketplaceEventCommand): Promise<Observation> => {
      reads += 1;
      await beforeAnswer();
      const entitlement = command.entitlementId
        ? entitlements.get(command.entitlementId)
        : undefined;
      return entitlement === undefined ? {} : { entitlement };
    },
  };
  let updateTime = T0;
  return {
    observer,
    reads: () => reads,
    /** Runs while the marketplace answers: a way to let another writer in between read and write. */
    interleave: (action: () => Promise<void>) => {
      beforeAnswer = action;
    },
    set: (id: string, status: EntitlementStatus, plan = 'pro', accountId = 'acct-1') => {
      updateTime += 1_000;
      const pendingPlan = status === 'pending_plan_change' ? 'enterprise' : null;
      entitlements.set(id, {
        accountId,
        productId: 'example-product',
        status,
        plan,
        pendingPlan,
        snapshot: { updateTimeEpochMs: updateTime, data: { status, plan, pendingPlan } },
      });
    },
    snapshotOf: (id: string) => entitlements.get(id),
    remove: (id: string) => entitlements.set(id, GONE),
  };
};

const message = (
  entitlementId: string,
  type: string,
  hint: MarketplaceEventCommand['hint'] = null,
): MarketplaceEventCommand => ({
  cloud: 'gcp',
  eventId: `evt-${randomUUID()}`,
  type,
  accountId: null,
  entitlementId,
  hint,
  payload: { eventType: type, entitlement: { id: entitlementId } },
});

const clock: Clock = { now: () => T0 + 60_000 };
const logger = createJsonLogger({ level: 'error', write: () => undefined });

describe.each(STORES_UNDER_TEST)('handleMarketplaceEvent on %s', (_name, setup) => {
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    subject = await setup();
    store = subject.store;
  });
  afterAll(async () => subject?.teardown());

  const depsWith = (marketplace: ReturnType<typeof aMarketplace>) => ({
    store,
    marketplace: marketplace.observer,
    clock,
    logger,
    eventTtlSeconds: 3_600,
  });

  it('records a new purchase, tells the vendor, and ignores the same message again', async () => {
    const marketplace = aMarketplace();
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'pending_approval');
    const command = message(id, 'ENTITLEMENT_CREATION_REQUESTED');

    const first = await handleMarketplaceEvent(depsWith(marketplace), command);
    const again = await handleMarketplaceEvent(depsWith(marketplace), command);

    expect(first).toEqual({
      outcome: 'applied',
      vendorEvents: ['entitlement.pending_approval'],
      attempts: 1,
    });
    expect(again).toEqual({ outcome: 'duplicate', vendorEvents: [], attempts: 1 });
    expect(marketplace.reads()).toBe(1);
    expect(await store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'pending_approval',
      version: 1,
    });
    expect(await store.getOutboxMessage(`gcp:${command.eventId}:0`)).toMatchObject({
      type: 'entitlement.pending_approval',
      entitlementId: id,
    });
    expect(await store.getEvent('gcp', command.eventId)).toMatchObject({
      outcome: 'applied',
      type: 'ENTITLEMENT_CREATION_REQUESTED',
    });
  });

  it('converges on the marketplace state whatever order the messages arrive in', async () => {
    const marketplace = aMarketplace();
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'pending_approval');
    const created = message(id, 'ENTITLEMENT_CREATION_REQUESTED');
    marketplace.set(id, 'active');
    const activated = message(id, 'ENTITLEMENT_ACTIVE', 'activated');
    marketplace.set(id, 'pending_cancellation');
    const pending = message(id, 'ENTITLEMENT_PENDING_CANCELLATION', 'cancellation_scheduled');
    marketplace.set(id, 'cancelled');
    const cancelled = message(id, 'ENTITLEMENT_CANCELLED', 'cancelled');

    // Delivered newest first, one of them twice.
    const outcomes = [];
    for (const command of [cancelled, pending, activated, pending, created]) {
      outcomes.push((await handleMarketplaceEvent(depsWith(marketplace), command)).outcome);
    }

    expect(outcomes).toEqual(['applied', 'ignored', 'ignored', 'duplicate', 'ignored']);
    expect(await store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'cancelled',
      version: 1,
    });
  });

  it('never lets an older marketplace answer overwrite a newer one', async () => {
    const marketplace = aMarketplace();
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'active');
    const older = marketplace.snapshotOf(id);
    marketplace.set(id, 'pending_cancellation');
    await handleMarketplaceEvent(
      depsWith(marketplace),
      message(id, 'ENTITLEMENT_PENDING_CANCELLATION'),
    );

    // A slow re-read that started before the change answers with the old state.
    const slow = aMarketplace();
    slow.observer.observe = async () => ({ entitlement: older! });
    const result = await handleMarketplaceEvent(depsWith(slow), message(id, 'ENTITLEMENT_ACTIVE'));

    expect(result.outcome).toBe('stale');
    expect(await store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'pending_cancellation',
    });
  });

  it('decides again on what is stored now when a concurrent write won the race', async () => {
    const marketplace = aMarketplace();
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'active');
    await handleMarketplaceEvent(depsWith(marketplace), message(id, 'ENTITLEMENT_ACTIVE'));
    marketplace.set(id, 'pending_plan_change', 'pro');
    // Another writer changes the entitlement between this message's read and its write.
    marketplace.interleave(async () => {
      const current = await store.getEntitlement({ cloud: 'gcp', id });
      await store.putEntitlement({ ...current!, tenantId: 'tenant-raced' }, current!.version);
    });

    const result = await handleMarketplaceEvent(
      depsWith(marketplace),
      message(id, 'ENTITLEMENT_PLAN_CHANGE_REQUESTED'),
    );

    expect(result.attempts).toBe(2);
    expect(marketplace.reads()).toBe(2);
    expect(await store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'pending_plan_change',
      tenantId: 'tenant-raced',
      version: 3,
    });
  });

  it('gives a new purchase the tenant its account has after the write, not the one it read', async () => {
    const marketplace = aMarketplace();
    const accountId = `acct-${randomUUID()}`;
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'active', 'pro', accountId);
    const tenant = { tenantId: `tenant-${randomUUID()}`, linkedAtEpochMs: T0 };
    await store.applyDecision(
      aDecision({
        account: {
          next: anAccount({ cloud: 'gcp', id: accountId, status: 'active', tenant }),
          expectedVersion: 0,
        },
      }),
    );
    // An admin unlinks the account right after this message read it, before its write: the
    // unlink's listing of the account's purchases cannot see the new one yet.
    let unlinked = false;
    const racing: Store = {
      ...store,
      getAccount: async (ref) => {
        const account = await store.getAccount(ref);
        if (!unlinked) {
          unlinked = true;
          await unlinkTenantAccount(
            { store, clock, eventTtlSeconds: 3_600, newId: randomUUID },
            { tenantId: tenant.tenantId, account: ref, actor: 'ops' },
          );
        }
        return account;
      },
    };

    const result = await handleMarketplaceEvent(
      { ...depsWith(marketplace), store: racing },
      message(id, 'ENTITLEMENT_ACTIVE'),
    );

    expect(unlinked).toBe(true);
    expect(result.outcome).toBe('applied');
    expect(await store.getEntitlement({ cloud: 'gcp', id })).toMatchObject({
      status: 'active',
      tenantId: null,
    });
    expect((await store.getAccount({ cloud: 'gcp', id: accountId }))?.tenant).toBeNull();
  });

  it('gives up with a retryable conflict when every attempt loses', async () => {
    const marketplace = aMarketplace();
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'active');
    await handleMarketplaceEvent(depsWith(marketplace), message(id, 'ENTITLEMENT_ACTIVE'));
    marketplace.set(id, 'suspended');
    const deps = {
      ...depsWith(marketplace),
      maxAttempts: 1,
    };
    marketplace.interleave(async () => {
      const current = await store.getEntitlement({ cloud: 'gcp', id });
      await store.putEntitlement({ ...current!, plan: 'raced' }, current!.version);
    });
    const command = message(id, 'ENTITLEMENT_SUSPENDED');

    const error = await handleMarketplaceEvent(deps, command).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect((error as ConcurrencyConflictError).retryable).toBe(true);
    expect(await store.getEvent('gcp', command.eventId)).toBeNull();
  });

  it('deletes a purchase the marketplace answers 404 for', async () => {
    const marketplace = aMarketplace();
    const id = `ent-${randomUUID()}`;
    marketplace.set(id, 'cancelled');
    await handleMarketplaceEvent(depsWith(marketplace), message(id, 'ENTITLEMENT_CANCELLED'));
    marketplace.remove(id);
    const result = await handleMarketplaceEvent(
      depsWith(marketplace),
      message(id, 'ENTITLEMENT_DELETED'),
    );
    expect(result.vendorEvents).toEqual(['entitlement.deleted']);
    expect((await store.getEntitlement({ cloud: 'gcp', id }))?.status).toBe('deleted');
  });
});
