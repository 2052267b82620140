import { randomUUID } from 'node:crypto';
import { createJsonLogger } from '../shared';
import type { Account, Entitlement, Store } from '../shared';
import { handleMarketplaceEvent } from '../shared/app/handle-marketplace-event';
import { unlinkTenantAccount } from '../shared/app/link-tenant-account';
import { purgeDeletedAccount, purgeEndedPurchases } from '../shared/app/purge-personal-data';
import { GONE } from '../shared/domain/decision';
import type { MarketplaceEventCommand, Observation } from '../shared/domain/decision';
import { StoreUnavailableError } from '../shared/domain/errors';
import { anAccount, anEntitlement } from '../shared/test/builders';
import type { StoreUnderTest } from '../shared/test/store-contract';
import { scheduledEvent } from './support/aws-usage';
import { signUpAndSettle, startGcpStack } from './support/gcp-stack';
import {
  SCHEDULER_SERVICE_ACCOUNT,
  loadAwsScheduledHandler,
  startGcpScheduledFunction,
} from './support/scheduled-functions';
import {
  dynamoDbStoreUnderTest,
  firestoreStoreUnderTest,
  freshDynamoDbTable,
} from './support/stores';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 10, 22, 12, 0);
const RETENTION_MS = 30 * DAY_MS;
const logger = createJsonLogger({ level: 'error' });

const GCP_ENTITLEMENT_DATA = {
  name: 'providers/p/entitlements/e',
  account: 'providers/p/accounts/a',
  usageReportingId: 'project_number:123',
  inputProperties: { contactEmail: 'buyer@example.com' },
};

/** An account that signed up, with what identifies its person. */
const signedUp = (overrides: Partial<Account> = {}): Account =>
  anAccount({
    status: 'active',
    tenant: { tenantId: 'tenant-1', linkedAtEpochMs: NOW - 90 * DAY_MS },
    personal: { userIdentity: 'google-user-123', email: 'buyer@example.com' },
    snapshot: {
      updateTimeEpochMs: NOW - 90 * DAY_MS,
      data: { name: 'accounts/a', state: 'ACTIVE' },
    },
    ...overrides,
  });

const purchase = (account: Account, overrides: Partial<Entitlement> = {}): Entitlement =>
  anEntitlement({
    cloud: account.cloud,
    accountId: account.id,
    tenantId: 'tenant-1',
    usageReportingId: 'project_number:123',
    snapshot: { updateTimeEpochMs: NOW - 60 * DAY_MS, data: GCP_ENTITLEMENT_DATA },
    ...overrides,
  });

/** A purchase that ended `daysAgo` and was last written then. */
const endedDaysAgo = (daysAgo: number, status: 'cancelled' | 'deleted' = 'cancelled') => ({
  status,
  endedAtEpochMs: NOW - daysAgo * DAY_MS,
  updatedAtEpochMs: NOW - daysAgo * DAY_MS,
});

/** What a purge leaves of a raw resource: nothing but its update time. */
const emptied = (record: { snapshot: { updateTimeEpochMs: number } | null }) => ({
  updateTimeEpochMs: record.snapshot!.updateTimeEpochMs,
  data: {},
});

const seed = async (store: Store, account: Account | null, entitlements: Entitlement[]) => {
  if (account) await store.putAccount(account, 0);
  for (const entitlement of entitlements) await store.putEntitlement(entitlement, 0);
};

/** Google's ACCOUNT_DELETED, as the events function parses it. */
const accountDeleted = (accountId: string): MarketplaceEventCommand => ({
  cloud: 'gcp',
  eventId: `evt-${randomUUID()}`,
  type: 'ACCOUNT_DELETED',
  accountId,
  entitlementId: null,
  hint: null,
  payload: { eventType: 'ACCOUNT_DELETED', account: { id: accountId } },
});

/** A Google entitlement message, as the events function parses it. */
const entitlementMessage = (
  entitlementId: string,
  type: string,
  hint: MarketplaceEventCommand['hint'],
): MarketplaceEventCommand => ({
  cloud: 'gcp',
  eventId: `evt-${randomUUID()}`,
  type,
  accountId: null,
  entitlementId,
  hint,
  payload: { eventType: type, entitlement: { id: entitlementId } },
});

describe.each([
  ['DynamoDB Local', dynamoDbStoreUnderTest],
  ['the Firestore emulator', firestoreStoreUnderTest],
])('retention and purge on %s', (_name, open) => {
  let underTest: StoreUnderTest;
  let store: Store;
  let now = NOW;
  const deps = () => ({
    store,
    clock: { now: () => now },
    logger,
    retentionMs: RETENTION_MS,
    auditTtlSeconds: 365 * 86_400,
  });

  /** Handles a message as the events function does, the marketplace answering `observation`. */
  const handle = (command: MarketplaceEventCommand, observation: Observation, on: Store = store) =>
    handleMarketplaceEvent(
      {
        store: on,
        marketplace: { observe: async () => observation },
        clock: { now: () => now },
        logger,
        eventTtlSeconds: 3_600,
      },
      command,
    );
  /** Google's read of the purchase, cancelled, with everything it says of the buyer. */
  const cancelledRead = (entitlement: Entitlement, updateTimeEpochMs: number): Observation => ({
    entitlement: {
      accountId: entitlement.accountId,
      productId: entitlement.productId,
      status: 'cancelled',
      plan: entitlement.plan,
      pendingPlan: null,
      usageReportingId: 'project_number:123',
      snapshot: { updateTimeEpochMs, data: GCP_ENTITLEMENT_DATA },
    },
  });
  /** The store, failing once with an engine outage on the first write `fails` picks. */
  const failingOnce = (fails: (decision: Parameters<Store['applyDecision']>[0]) => boolean) => {
    let failed = false;
    const failing: Store = {
      ...store,
      applyDecision: async (decision) => {
        if (!failed && fails(decision)) {
          failed = true;
          throw new StoreUnavailableError('the engine did not answer');
        }
        return store.applyDecision(decision);
      },
    };
    return failing;
  };

  beforeEach(async () => {
    underTest = await open();
    store = underTest.store;
    now = NOW;
  });
  afterEach(() => underTest.teardown());

  it('purges a purchase that ended longer ago than the retention, and keeps an anonymised audit', async () => {
    const account = signedUp();
    const ended = purchase(account, endedDaysAgo(31));
    const live = purchase(account, { status: 'active' });
    const recent = purchase(account, endedDaysAgo(29));
    await seed(store, account, [ended, live, recent]);

    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 1, accounts: 0 });

    const purged = await store.getEntitlement(ended);
    expect(purged).toMatchObject({
      status: 'cancelled',
      plan: ended.plan,
      tenantId: 'tenant-1',
      usageReportingId: null,
      endedAtEpochMs: ended.endedAtEpochMs,
      purgedAtEpochMs: NOW,
    });
    expect(purged?.snapshot).toEqual(emptied(ended));
    expect(JSON.stringify(purged)).not.toContain('buyer@example.com');
    for (const kept of [live, recent]) {
      expect((await store.getEntitlement(kept))?.snapshot?.data).toEqual(GCP_ENTITLEMENT_DATA);
    }
    // The account keeps its data while a purchase of it is live.
    expect((await store.getAccount(account))?.personal).not.toBeNull();

    const audit = await store.getEvent('gcp', `purge:entitlement:${ended.id}:v1`);
    expect(audit).toMatchObject({
      type: 'PERSONAL_DATA_PURGED',
      entitlementId: ended.id,
      reason: 'retention',
      payload: { kind: 'entitlement', status: 'cancelled' },
    });
    expect(JSON.stringify(audit)).not.toMatch(/buyer@example.com|google-user-123|project_number/);

    // Nothing is left to purge: a second run writes nothing.
    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 0, accounts: 0 });
  });

  it('purges the account once every purchase of it ended past the retention', async () => {
    const account = signedUp();
    const first = purchase(account, endedDaysAgo(40));
    const second = purchase(account, endedDaysAgo(10, 'deleted'));
    await seed(store, account, [first, second]);

    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 1, accounts: 0 });
    now = NOW + 21 * DAY_MS;
    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 1, accounts: 1 });

    const stored = await store.getAccount(account);
    expect(stored).toMatchObject({
      status: 'active',
      tenant: { tenantId: 'tenant-1' },
      personal: null,
    });
    expect(stored?.snapshot).toEqual(emptied(account));
    expect(await store.getEvent('gcp', `purge:account:${account.id}:v1`)).toMatchObject({
      accountId: account.id,
      entitlementId: null,
      reason: 'retention',
    });
  });

  it('purges a deleted account and every purchase of it at once, whatever their status', async () => {
    const account = signedUp({ status: 'deleted', personal: null, snapshot: null });
    const live = purchase(account, { status: 'active' });
    const ended = purchase(account, endedDaysAgo(1));
    await seed(store, account, [live, ended]);

    expect(await purgeDeletedAccount(deps(), account)).toEqual({ entitlements: 2, accounts: 0 });
    for (const entitlement of [live, ended]) {
      const stored = await store.getEntitlement(entitlement);
      expect(stored).toMatchObject({ usageReportingId: null, purgedAtEpochMs: NOW });
      expect(stored?.snapshot).toEqual(emptied(entitlement));
      expect(await store.getEvent('gcp', `purge:entitlement:${entitlement.id}:v1`)).toMatchObject({
        reason: 'account_deleted',
      });
    }
  });

  it('decides again when a purchase changes while it is purged', async () => {
    const account = signedUp();
    const ended = purchase(account, endedDaysAgo(31));
    await seed(store, account, [ended]);
    // A reader that changes the purchase right after the run listed it: the purge loses the race.
    const racing: Store = {
      ...store,
      applyDecision: async (decision) => {
        const current = await store.getEntitlement(ended);
        if (current?.version === 1) {
          await store.putEntitlement({ ...current, plan: 'basic' }, current.version);
        }
        return store.applyDecision(decision);
      },
    };
    expect(await purgeEndedPurchases({ ...deps(), store: racing })).toMatchObject({
      entitlements: 1,
    });
    const stored = await store.getEntitlement(ended);
    expect(stored).toMatchObject({ version: 3, plan: 'basic', usageReportingId: null });
    expect(stored?.snapshot).toEqual(emptied(ended));
  });
  it('counts the retention from when a purchase ended, whatever was written to it since', async () => {
    const account = signedUp();
    const ended = purchase(account, endedDaysAgo(31));
    await seed(store, account, [ended]);
    // An admin unlinks the account today: its purchase is written now.
    await unlinkTenantAccount(
      { store, clock: { now: () => now }, eventTtlSeconds: 3_600, newId: randomUUID },
      { tenantId: 'tenant-1', account, actor: 'ops' },
    );
    expect((await store.getEntitlement(ended))?.updatedAtEpochMs).toBe(NOW);
    // One that ended before purchases kept when: counted from its last write instead.
    const other = signedUp();
    const older = purchase(other, { status: 'cancelled', updatedAtEpochMs: NOW - 31 * DAY_MS });
    await seed(store, other, [older]);

    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 2, accounts: 2 });
    expect((await store.getEntitlement(ended))?.snapshot).toEqual(emptied(ended));
    expect((await store.getEntitlement(older))?.snapshot).toEqual(emptied(older));
  });

  it('finishes in the next run the account a failed run left', async () => {
    const account = signedUp();
    const ended = purchase(account, endedDaysAgo(31));
    await seed(store, account, [ended]);
    const failing = failingOnce((decision) => decision.account !== null);

    await expect(purgeEndedPurchases({ ...deps(), store: failing })).rejects.toThrow(
      StoreUnavailableError,
    );
    now += DAY_MS;
    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 1, accounts: 1 });

    expect((await store.getAccount(account))?.personal).toBeNull();
    expect((await store.getEntitlement(ended))?.snapshot).toEqual(emptied(ended));
  });

  it('finishes a purge the deletion of the account left undone, when Google delivers again', async () => {
    const account = signedUp();
    const live = purchase(account, { status: 'active' });
    await seed(store, account, [live]);
    const failing = failingOnce((decision) => decision.event.type === 'PERSONAL_DATA_PURGED');
    const command = accountDeleted(account.id);

    await expect(handle(command, { account: GONE }, failing)).rejects.toThrow(
      StoreUnavailableError,
    );
    expect((await store.getAccount(account))?.status).toBe('deleted');
    expect((await store.getEntitlement(live))?.snapshot?.data).toEqual(GCP_ENTITLEMENT_DATA);
    // Answered 503, so Pub/Sub delivers the message again: recorded already.
    expect((await handle(command, { account: GONE })).outcome).toBe('duplicate');

    const stored = await store.getEntitlement(live);
    expect(stored).toMatchObject({
      status: 'active',
      usageReportingId: null,
      purgedAtEpochMs: NOW,
    });
    expect(stored?.snapshot).toEqual(emptied(live));
  });

  it('purges every purchase of a deleted account it comes across, whatever its status', async () => {
    // Google's deletion was recorded, its purge never finished, and the messages gave up.
    const account = signedUp({ status: 'deleted', personal: null, snapshot: null });
    const live = purchase(account, { status: 'active' });
    const recent = purchase(account, endedDaysAgo(1));
    await seed(store, account, [live, recent]);

    expect(await purgeEndedPurchases(deps())).toEqual({ entitlements: 2, accounts: 0 });
    for (const entitlement of [live, recent]) {
      expect((await store.getEntitlement(entitlement))?.snapshot).toEqual(emptied(entitlement));
      expect(await store.getEvent('gcp', `purge:entitlement:${entitlement.id}:v1`)).toMatchObject({
        reason: 'account_deleted',
      });
    }
  });

  it("keeps a deleted account's purchase purged when a later message reads it again", async () => {
    const account = signedUp();
    const live = purchase(account, { status: 'active' });
    await seed(store, account, [live]);
    await handle(accountDeleted(account.id), { account: GONE });
    expect((await store.getEntitlement(live))?.snapshot).toEqual(emptied(live));

    // Pub/Sub keeps no order: the purchase's cancellation comes after, and Google still has it.
    now += 1_000;
    const updateTimeEpochMs = NOW - DAY_MS;
    const result = await handle(
      entitlementMessage(live.id, 'ENTITLEMENT_CANCELLED', 'cancelled'),
      cancelledRead(live, updateTimeEpochMs),
    );

    expect(result.vendorEvents).toEqual(['entitlement.cancelled']);
    const stored = await store.getEntitlement(live);
    expect(stored).toMatchObject({
      status: 'cancelled',
      endedAtEpochMs: now,
      usageReportingId: null,
    });
    expect(stored?.snapshot).toEqual({ updateTimeEpochMs, data: {} });
  });

  it('keeps a purchase its retention purged so when a later message reads it again', async () => {
    const account = signedUp();
    const ended = purchase(account, endedDaysAgo(31));
    await seed(store, account, [ended]);
    await purgeEndedPurchases(deps());

    // Google answers with the resource the purchase was last seen as: the same update time.
    now += 1_000;
    const same = ended.snapshot!.updateTimeEpochMs;
    const result = await handle(
      entitlementMessage(ended.id, 'ENTITLEMENT_CANCELLED', 'cancelled'),
      cancelledRead(ended, same),
    );

    expect(result.outcome).toBe('ignored');
    const stored = await store.getEntitlement(ended);
    expect(stored).toMatchObject({ usageReportingId: null, purgedAtEpochMs: NOW });
    expect(stored?.snapshot).toEqual(emptied(ended));
  });

  it('purges the purchases of an account deleted before it was ever stored, and those seen later', async () => {
    // The purchase's messages came; the account's never did (account notifications are optional).
    const accountId = `acct-${randomUUID()}`;
    const stored = purchase(signedUp({ id: accountId }), { status: 'active' });
    await seed(store, null, [stored]);

    const result = await handle(accountDeleted(accountId), { account: GONE });

    expect(result.vendorEvents).toEqual(['account.deleted']);
    expect(await store.getAccount({ cloud: 'gcp', id: accountId })).toMatchObject({
      status: 'deleted',
      tenant: null,
      personal: null,
    });
    expect((await store.getEntitlement(stored))?.snapshot).toEqual(emptied(stored));
    // Another purchase of the account, first seen after: recorded without its personal data.
    const later = `ent-${randomUUID()}`;
    await handle(
      entitlementMessage(later, 'ENTITLEMENT_CANCELLED', 'cancelled'),
      cancelledRead({ ...stored, id: later }, NOW),
    );
    const first = await store.getEntitlement({ cloud: 'gcp', id: later });
    expect(first).toMatchObject({ status: 'cancelled', usageReportingId: null });
    expect(first?.snapshot).toEqual({ updateTimeEpochMs: NOW, data: {} });
  });
});

describe('the retention functions, as their schedules call them', () => {
  const old = Date.now() - 31 * DAY_MS;

  it('Google: purges what a buyer left through the real flows, once the retention has passed', async () => {
    // Bought, signed up for and cancelled on the simulator, through the Google functions.
    const stack = await startGcpStack();
    let fn: Awaited<ReturnType<typeof startGcpScheduledFunction>> | undefined;
    try {
      const bought = await stack.sim.gcp.purchase({ plan: 'pro' });
      await signUpAndSettle(stack, bought.signupToken);
      await stack.sim.gcp.buyerAction(bought.entitlementId, 'cancel', { immediate: true });
      const ref = { cloud: 'gcp', id: bought.entitlementId } as const;
      const accountRef = { cloud: 'gcp', id: bought.accountId } as const;
      const cancelled = await stack.store.getEntitlement(ref);
      const account = await stack.store.getAccount(accountRef);
      expect(cancelled).toMatchObject({ status: 'cancelled', endedAtEpochMs: expect.any(Number) });
      expect(cancelled?.snapshot?.data).toMatchObject({ name: expect.any(String) });
      expect(account?.personal).not.toBeNull();

      // The daily run on the same project, with no retention to wait for.
      fn = await startGcpScheduledFunction('functions/vendor/gcp-retention', 'gcpRetention', {
        FIRESTORE_PROJECT_ID: process.env.FIRESTORE_PROJECT_ID!,
        PERSONAL_DATA_RETENTION_DAYS: '0',
      });
      const run = await fn.call(SCHEDULER_SERVICE_ACCOUNT);
      expect([run.status, await run.json()]).toEqual([200, { entitlements: 1, accounts: 1 }]);

      const purged = await stack.store.getEntitlement(ref);
      expect(purged).toMatchObject({ status: 'cancelled', plan: 'pro', usageReportingId: null });
      expect(purged?.snapshot).toEqual(emptied(cancelled!));
      const purgedAccount = await stack.store.getAccount(accountRef);
      expect(purgedAccount).toMatchObject({ status: 'active', personal: null });
      expect(purgedAccount?.snapshot).toEqual(emptied(account!));
      expect(JSON.stringify([purged, purgedAccount])).not.toContain(
        account!.personal!.userIdentity!,
      );
    } finally {
      await fn?.stop();
      await stack.stop();
    }
  });

  it('AWS: an EventBridge scheduled event purges ended purchases in DynamoDB', async () => {
    const table = await freshDynamoDbTable();
    try {
      const account = signedUp({ cloud: 'aws' });
      const ended = purchase(account, { status: 'cancelled', updatedAtEpochMs: old });
      await seed(table.store, account, [ended]);
      const handler = loadAwsScheduledHandler('functions/vendor/aws-retention', table.tableName, {
        PERSONAL_DATA_RETENTION_DAYS: '30',
      });
      expect(await handler(scheduledEvent())).toEqual({ entitlements: 1, accounts: 1 });
      expect((await table.store.getAccount(account))?.personal).toBeNull();
      expect((await table.store.getEntitlement(ended))?.snapshot?.data).toEqual({});
    } finally {
      await table.drop();
    }
  });

  it('Google: Cloud Scheduler with its OIDC token purges ended purchases in Firestore; others get 401', async () => {
    const fn = await startGcpScheduledFunction('functions/vendor/gcp-retention', 'gcpRetention', {
      PERSONAL_DATA_RETENTION_DAYS: '30',
    });
    try {
      const account = signedUp();
      const ended = purchase(account, { status: 'cancelled', updatedAtEpochMs: old });
      await seed(fn.store, account, [ended]);

      expect((await fn.call(null)).status).toBe(401);
      expect((await fn.call('other@x.iam.gserviceaccount.com')).status).toBe(401);
      expect((await fn.store.getEntitlement(ended))?.snapshot?.data).toEqual(GCP_ENTITLEMENT_DATA);

      const run = await fn.call(SCHEDULER_SERVICE_ACCOUNT);
      expect(run.status).toBe(200);
      expect(await run.json()).toEqual({ entitlements: 1, accounts: 1 });
      expect((await fn.store.getAccount(account))?.personal).toBeNull();
    } finally {
      await fn.stop();
    }
  });
});
