import {
  GONE,
  deadLetterDecision,
  decideAccount,
  decideEntitlement,
  decideEvent,
  isNewSignup,
  signedUpAccount,
} from './decision';
import type { MarketplaceEventCommand, ObservedEntitlement } from './decision';
import type { EntitlementStatus } from './model';
import { anAccount, anEntitlement, T0 } from '../test/builders';

const ref = { cloud: 'gcp' as const, id: 'ent-1' };
const observed = (overrides: Partial<ObservedEntitlement> = {}): ObservedEntitlement => ({
  accountId: 'acct-1',
  productId: 'example-product',
  status: 'active',
  plan: 'pro',
  snapshot: { updateTimeEpochMs: T0 + 1_000, data: { state: 'ENTITLEMENT_ACTIVE' } },
  ...overrides,
});
const options = { nowEpochMs: T0 + 5_000, hint: null, tenantId: null };

describe('decideEntitlement', () => {
  it('creates a purchase first seen waiting for approval and tells the vendor', () => {
    const outcome = decideEntitlement(ref, null, observed({ status: 'pending_approval' }), options);
    expect(outcome.next).toMatchObject({
      id: 'ent-1',
      status: 'pending_approval',
      plan: 'pro',
      version: 0,
    });
    expect(outcome.vendorEvents).toEqual(['entitlement.pending_approval']);
  });

  it('tells the vendor every step a purchase first seen mid-life has taken', () => {
    const outcome = decideEntitlement(ref, null, observed({ status: 'pending_cancellation' }), {
      ...options,
      tenantId: 'tenant-1',
    });
    expect(outcome.next).toMatchObject({ status: 'pending_cancellation', tenantId: 'tenant-1' });
    expect(outcome.vendorEvents).toEqual([
      'entitlement.activated',
      'entitlement.cancellation_scheduled',
    ]);
  });

  it('ignores an observation older than the stored snapshot', () => {
    const current = anEntitlement({
      id: 'ent-1',
      status: 'cancelled',
      snapshot: { updateTimeEpochMs: T0 + 2_000, data: {} },
    });
    const outcome = decideEntitlement(ref, current, observed({ status: 'active' }), options);
    expect(outcome).toEqual({ next: null, vendorEvents: [], stale: true });
  });

  it('catches up along the state table when messages were lost', () => {
    const current = anEntitlement({
      id: 'ent-1',
      status: 'pending_approval',
      snapshot: { updateTimeEpochMs: T0, data: {} },
    });
    const outcome = decideEntitlement(ref, current, observed({ status: 'cancelled' }), options);
    expect(outcome.next?.status).toBe('cancelled');
    expect(outcome.vendorEvents).toEqual(['entitlement.cancelled']);
  });

  it('reports a plan that changed while active', () => {
    const current = anEntitlement({
      id: 'ent-1',
      status: 'active',
      plan: 'basic',
      snapshot: { updateTimeEpochMs: T0, data: {} },
    });
    const outcome = decideEntitlement(ref, current, observed({ plan: 'pro' }), options);
    expect(outcome.next).toMatchObject({ status: 'active', plan: 'pro', pendingPlan: null });
    expect(outcome.vendorEvents).toEqual(['entitlement.plan_changed']);
  });

  it('prefers the renewal the message announces over a plain update', () => {
    const current = anEntitlement({ id: 'ent-1', snapshot: { updateTimeEpochMs: T0, data: {} } });
    const offer = { id: 'o-1', startEpochMs: T0, endEpochMs: T0 + 1, duration: null };
    const outcome = decideEntitlement(ref, current, observed({ offer }), {
      ...options,
      hint: 'renewed',
    });
    expect(outcome.vendorEvents).toEqual(['entitlement.renewed']);
    expect(outcome.next?.offer).toEqual(offer);
  });

  it('reports changed data as an update and a newer identical snapshot silently', () => {
    const current = anEntitlement({ id: 'ent-1', snapshot: { updateTimeEpochMs: T0, data: {} } });
    const updated = decideEntitlement(
      ref,
      current,
      observed({ usageReportingId: 'project_number:1' }),
      options,
    );
    expect(updated.vendorEvents).toEqual(['entitlement.updated']);
    const silent = decideEntitlement(ref, current, observed(), options);
    expect(silent.vendorEvents).toEqual([]);
    expect(silent.next?.snapshot?.updateTimeEpochMs).toBe(T0 + 1_000);
  });

  it('changes nothing when the marketplace says what is stored', () => {
    const current = anEntitlement({ id: 'ent-1', snapshot: observed().snapshot });
    expect(decideEntitlement(ref, current, observed(), options)).toEqual({
      next: null,
      vendorEvents: [],
      stale: false,
    });
  });

  it('deletes a purchase the marketplace no longer knows, once', () => {
    const current = anEntitlement({ id: 'ent-1' });
    const outcome = decideEntitlement(ref, current, GONE, options);
    expect(outcome.next?.status).toBe('deleted');
    expect(outcome.vendorEvents).toEqual(['entitlement.deleted']);
    expect(decideEntitlement(ref, outcome.next, GONE, options).next).toBeNull();
    expect(decideEntitlement(ref, null, GONE, options).next).toBeNull();
  });

  it("records what a later read says of a deleted account's purchase, but not its personal data", () => {
    const current = anEntitlement({ id: 'ent-1', usageReportingId: 'project_number:9' });
    const read = observed({
      status: 'cancelled',
      usageReportingId: 'project_number:9',
      snapshot: { updateTimeEpochMs: T0 + 1_000, data: { contactEmail: 'buyer@example.com' } },
    });
    const outcome = decideEntitlement(ref, current, read, { ...options, accountDeleted: true });
    expect(outcome.next).toMatchObject({
      status: 'cancelled',
      endedAtEpochMs: options.nowEpochMs,
      usageReportingId: null,
      snapshot: { updateTimeEpochMs: T0 + 1_000, data: {} },
      purgedAtEpochMs: options.nowEpochMs,
    });
    expect(outcome.vendorEvents).toEqual(['entitlement.cancelled']);
    // First seen after its account was deleted: recorded without it from the start.
    const created = decideEntitlement(ref, null, read, { ...options, accountDeleted: true });
    expect(created.next).toMatchObject({
      usageReportingId: null,
      snapshot: { updateTimeEpochMs: T0 + 1_000, data: {} },
      purgedAtEpochMs: options.nowEpochMs,
    });
  });

  it('keeps a purged purchase purged, whatever a read of the same or a later time says', () => {
    const purged = anEntitlement({
      id: 'ent-1',
      status: 'cancelled',
      snapshot: { updateTimeEpochMs: T0 + 1_000, data: {} },
      purgedAtEpochMs: T0 + 1_500,
    });
    const read = (updateTimeEpochMs: number) =>
      observed({
        status: 'cancelled',
        usageReportingId: 'project_number:9',
        snapshot: { updateTimeEpochMs, data: { contactEmail: 'buyer@example.com' } },
      });
    expect(decideEntitlement(ref, purged, read(T0 + 1_000), options).next).toBeNull();
    const later = decideEntitlement(ref, purged, read(T0 + 2_000), options);
    expect(later.next).toMatchObject({
      usageReportingId: null,
      snapshot: { updateTimeEpochMs: T0 + 2_000, data: {} },
      purgedAtEpochMs: T0 + 1_500,
    });
    expect(later.vendorEvents).toEqual([]);
  });

  it('ignores a state the table cannot reach', () => {
    const current = anEntitlement({
      id: 'ent-1',
      status: 'active',
      snapshot: { updateTimeEpochMs: T0, data: {} },
    });
    expect(
      decideEntitlement(ref, current, observed({ status: 'pending_approval' }), options).next,
    ).toBeNull();
  });
});

describe('decideAccount', () => {
  const snapshot = { updateTimeEpochMs: T0 + 1, data: { state: 'ACCOUNT_ACTIVE' } };

  it('records a new account waiting for signup without telling the vendor', () => {
    const outcome = decideAccount(
      { cloud: 'gcp', id: 'a' },
      null,
      { status: 'pending_signup', snapshot },
      T0,
    );
    expect(outcome.next).toMatchObject({
      id: 'a',
      status: 'pending_signup',
      tenant: null,
      version: 0,
    });
    expect(outcome.vendorEvents).toEqual([]);
  });

  it('purges personal data at once when the account is deleted', () => {
    const current = anAccount({ status: 'active', personal: { email: 'buyer@example.com' } });
    const outcome = decideAccount(current, current, GONE, T0);
    expect(outcome.next).toMatchObject({ status: 'deleted', personal: null });
    expect(outcome.vendorEvents).toEqual(['account.deleted']);
  });

  it('records an account never stored as deleted, and tells the vendor', () => {
    const outcome = decideAccount({ cloud: 'gcp', id: 'a' }, null, GONE, T0);
    expect(outcome.next).toMatchObject({
      id: 'a',
      status: 'deleted',
      tenant: null,
      personal: null,
      snapshot: null,
      version: 0,
    });
    expect(outcome.vendorEvents).toEqual(['account.deleted']);
    expect(decideAccount(outcome.next!, outcome.next, GONE, T0 + 1).next).toBeNull();
  });

  it('never lets the marketplace undo a verified signup', () => {
    const current = anAccount({ status: 'active', snapshot: { updateTimeEpochMs: T0, data: {} } });
    const outcome = decideAccount(current, current, { status: 'pending_signup', snapshot }, T0);
    expect(outcome.next?.status).toBe('active');
  });

  it('leaves activating to the signup, which gives the account its tenant', () => {
    // Google reports the account approved once the signup approves it, often before the
    // signup has written the account with its tenant.
    const current = anAccount({ status: 'pending_signup', tenant: null, snapshot: null });
    const outcome = decideAccount(current, current, { status: 'active', snapshot }, T0);
    expect(outcome.next).toMatchObject({ status: 'pending_signup', tenant: null, snapshot });
    expect(outcome.vendorEvents).toEqual([]);
  });

  it('ignores an older account snapshot', () => {
    const current = anAccount({ snapshot: { updateTimeEpochMs: T0 + 10, data: {} } });
    expect(decideAccount(current, current, { status: 'active', snapshot }, T0).stale).toBe(true);
  });
});

describe('a verified signup', () => {
  const tenant = { tenantId: 'tenant-1', linkedAtEpochMs: T0 };
  const signUp = (current: Parameters<typeof isNewSignup>[0]) => ({
    news: isNewSignup(current),
    tenant: signedUpAccount({ cloud: 'gcp', id: 'a' }, current, {
      nowEpochMs: T0 + 1,
      newTenantId: () => 'tenant-new',
    }).tenant?.tenantId,
  });

  it.each([
    ['an account seen for the first time', true, 'tenant-new', null],
    ['an account waiting for its signup', true, 'tenant-new', anAccount()],
    ['an account an admin linked first', true, 'tenant-1', anAccount({ tenant })],
    ['a signed-up account', false, 'tenant-1', anAccount({ status: 'active', tenant })],
    ['an account an admin unlinked', true, 'tenant-new', anAccount({ status: 'active' })],
  ])('of %s: account.signed_up sent %s, tenant %s', (_what, news, tenantId, current) => {
    expect(signUp(current)).toEqual({ news, tenant: tenantId });
  });
});

describe('decideEvent', () => {
  const command: MarketplaceEventCommand = {
    cloud: 'gcp',
    eventId: 'evt-1',
    type: 'ENTITLEMENT_ACTIVE',
    accountId: 'acct-1',
    entitlementId: 'ent-1',
    hint: 'activated',
    payload: { eventType: 'ENTITLEMENT_ACTIVE' },
  };
  const context = { account: null, entitlement: null, nowEpochMs: T0, eventTtlSeconds: 60 };

  it('builds one write: event record, new state and outbox rows with stable ids', () => {
    const linked = anAccount({
      id: 'acct-1',
      tenant: { tenantId: 'tenant-7', linkedAtEpochMs: T0 },
      version: 3,
    });
    const decision = decideEvent(
      command,
      { entitlement: observed() },
      { ...context, account: linked },
    );
    expect(decision.event).toMatchObject({
      eventId: 'evt-1',
      outcome: 'applied',
      reason: null,
      expiresAtEpochSeconds: Math.floor(T0 / 1000) + 60,
    });
    expect(decision.account).toBeNull();
    expect(decision.entitlement).toMatchObject({
      expectedVersion: 0,
      next: { tenantId: 'tenant-7', status: 'active' },
    });
    expect(decision.outbox.map((m) => [m.id, m.type, m.tenantId])).toEqual([
      ['gcp:evt-1:0', 'entitlement.activated', 'tenant-7'],
    ]);
  });

  it('records a stale message with the reason and changes nothing', () => {
    const current = anEntitlement({
      id: 'ent-1',
      version: 4,
      snapshot: { updateTimeEpochMs: T0 + 9_999, data: {} },
    });
    const decision = decideEvent(
      command,
      { entitlement: observed() },
      { ...context, entitlement: current },
    );
    expect(decision).toMatchObject({ account: null, entitlement: null, outbox: [] });
    expect(decision.event).toMatchObject({
      outcome: 'stale',
      reason: 'older than the stored snapshot',
    });
  });

  it('records a message about nothing it can observe as ignored', () => {
    const decision = decideEvent({ ...command, type: 'SOMETHING_NEW' }, {}, context);
    expect(decision.event.outcome).toBe('ignored');
  });

  it('writes account and entitlement rows with their own outbox messages', () => {
    const account = anAccount({ id: 'acct-1', status: 'active', version: 2 });
    const decision = decideEvent(
      command,
      { account: GONE, entitlement: GONE },
      {
        ...context,
        account,
        entitlement: anEntitlement({ id: 'ent-1', version: 5 }),
      },
    );
    expect(decision.account?.expectedVersion).toBe(2);
    expect(decision.entitlement?.expectedVersion).toBe(5);
    expect(decision.outbox.map((m) => m.type)).toEqual(['account.deleted', 'entitlement.deleted']);
    expect(new Set(decision.outbox.map((m) => m.id)).size).toBe(2);
  });

  it('dead-letters with the reason and nothing else', () => {
    const decision = deadLetterDecision(command, 'payload is not JSON', T0, 60);
    expect(decision).toMatchObject({
      account: null,
      entitlement: null,
      outbox: [],
      event: { outcome: 'dead_letter', reason: 'payload is not JSON' },
    });
  });
});

describe('an AWS entitlement-updated', () => {
  const licenseArn = 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef';
  const command: MarketplaceEventCommand = {
    cloud: 'aws',
    eventId: 'sns-message-2',
    type: 'entitlement-updated',
    accountId: '123456789012',
    entitlementId: licenseArn,
    hint: 'updated',
    payload: {},
  };
  const stored = (status: EntitlementStatus) =>
    anEntitlement({
      cloud: 'aws',
      id: licenseArn,
      accountId: '123456789012',
      productId: 'prod-abc123',
      plan: null,
      status,
      tenantId: 'tenant-7',
      version: 3,
      contract: [{ dimension: 'users', value: 10, expiresAtEpochMs: null }],
      snapshot: { updateTimeEpochMs: T0, data: { type: 'unsubscribe-pending' } },
    });
  /**
   * What the AWS observer makes of it: the status the hint implies (a contract that ended is
   * reported cancelled), the contract it read.
   */
  const observation = (
    contract: ObservedEntitlement['contract'],
    status: EntitlementStatus = 'active',
  ) => ({
    entitlement: {
      accountId: '123456789012',
      productId: 'prod-abc123',
      status,
      ...(status === 'cancelled' ? {} : { statusImplied: true }),
      contract,
      snapshot: {
        updateTimeEpochMs: T0 + 60_000,
        data: { type: 'entitlement-updated', productCode: 'prod-abc123', licenseArn, contract },
      },
    },
  });
  const context = (status: EntitlementStatus) => ({
    account: null,
    entitlement: stored(status),
    nowEpochMs: T0 + 120_000,
    eventTtlSeconds: 60,
  });
  const more = [{ dimension: 'users', value: 20, expiresAtEpochMs: null }];

  it.each(['pending_cancellation', 'pending_approval', 'active', 'cancelled'] as const)(
    'is a contract change that leaves the status %s as it is',
    (status) => {
      const decision = decideEvent(command, observation(more), context(status));
      expect(decision.outbox.map((m) => m.type)).toEqual(['entitlement.updated']);
      expect(decision.entitlement?.next).toMatchObject({ status, contract: more });
    },
  );

  it('tells the vendor the contract as it is now, each end in ISO form', () => {
    const endsAtEpochMs = Date.UTC(2027, 10, 22);
    const contract = [
      { dimension: 'tier', value: 'gold', expiresAtEpochMs: null },
      { dimension: 'users', value: 20, expiresAtEpochMs: endsAtEpochMs },
    ];
    const [updated] = decideEvent(command, observation(contract), context('active')).outbox;
    expect(updated).toMatchObject({ type: 'entitlement.updated' });
    expect(updated!.data.contract).toEqual([
      { dimension: 'tier', value: 'gold', expiresAt: null },
      { dimension: 'users', value: 20, expiresAt: '2027-11-22T00:00:00.000Z' },
    ]);
  });

  it('still ends a purchase whose contract ended', () => {
    const decision = decideEvent(
      command,
      observation([], 'cancelled'),
      context('pending_cancellation'),
    );
    expect(decision.outbox.map((m) => m.type)).toEqual(['entitlement.cancelled']);
    expect(decision.entitlement?.next.status).toBe('cancelled');
  });

  it('moves to a status the marketplace reported with an update, as Google re-reads it', () => {
    const { statusImplied: _implied, ...reported } = observation(more).entitlement;
    const decision = decideEvent(
      { ...command, cloud: 'gcp' },
      { entitlement: reported },
      context('pending_cancellation'),
    );
    expect(decision.outbox.map((m) => m.type)).toEqual(['entitlement.cancellation_reverted']);
    expect(decision.entitlement?.next.status).toBe('active');
  });
});

describe('comparing stored data', () => {
  it('does not mistake a snapshot whose keys came back in another order for a change', () => {
    const stored = {
      updateTimeEpochMs: T0 + 1_000,
      data: { plan: 'pro', state: 'ENTITLEMENT_ACTIVE', nested: { b: 1, a: [{ y: 1, x: 2 }] } },
    };
    const fresh = {
      data: { nested: { a: [{ x: 2, y: 1 }], b: 1 }, state: 'ENTITLEMENT_ACTIVE', plan: 'pro' },
      updateTimeEpochMs: T0 + 1_000,
    };
    const current = anEntitlement({ id: 'ent-1', snapshot: stored });
    expect(decideEntitlement(ref, current, observed({ snapshot: fresh }), options).next).toBeNull();
  });
});
