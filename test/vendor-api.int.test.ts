import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Cloud, Entitlement, OutboxMessage } from '../shared/domain/model';
import { VENDOR_EVENT_SCHEMAS } from '../shared/domain/vendor-event-schemas';
import { VendorEventType, vendorEventEnvelope, vendorIdOf } from '../shared/domain/vendor-events';
import type { Store } from '../shared/ports/store';
import { T0, anOutboxMessage } from '../shared/test/builders';
import {
  KEYS,
  seedAccount,
  seedEntitlement,
  seedEvents,
  startVendorApi,
  stateOf,
} from './support/vendor-api';
import type { Answer, CallInput, Platform, VendorApiUnderTest } from './support/vendor-api';

/**
 * The vendor API over real HTTP, as deployed on each cloud: the AWS handler behind a local HTTP
 * API on DynamoDB Local, the Google function in the Functions Framework on the Firestore
 * emulator. Every answer is held to docs/vendor-api.openapi.yaml by the client.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const ONE_MEBIBYTE = 1_048_576;

const licenseArn = () =>
  `arn:aws:license-manager::123456789012:license/l-${randomBytes(16).toString('hex')}`;
const awsAccountId = () => String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** A window of its own for each test that reads the event log by time. */
let windows = 0;
const ownWindow = () => {
  windows += 1;
  const fromEpochMs =
    Date.UTC(2024, 0, 1) + windows * 24 * HOUR_MS + Math.floor(Math.random() * HOUR_MS);
  return { fromEpochMs, toEpochMs: fromEpochMs + HOUR_MS };
};

const errorCodeOf = (answer: Answer) => (answer.json as { error: { code: string } }).error.code;

describe.each(['aws', 'gcp'] as const)('the vendor API on %s', (platform: Platform) => {
  let api: VendorApiUnderTest;
  let store: Store;
  beforeAll(async () => {
    api = await startVendorApi(platform);
    store = api.store;
  });
  afterAll(async () => api?.stop());

  const call = (input: CallInput) => api.call(input);
  const admin = (input: CallInput) => call({ key: 'admin', ...input });

  /** An account of a cloud, with purchases, linked or not. */
  const aBuyer = async (
    cloud: Cloud,
    options: {
      tenantId?: string | null;
      purchases?: number;
      entitlementTenantId?: string | null;
    } = {},
  ) => {
    const tenantId = options.tenantId ?? null;
    const account = await seedAccount(store, {
      cloud,
      id: cloud === 'aws' ? awsAccountId() : `acct-${randomUUID()}`,
      status: 'active',
      tenant: tenantId === null ? null : { tenantId, linkedAtEpochMs: T0 },
      signedUpAtEpochMs: T0,
      personal: { email: 'buyer@example.com', userIdentity: 'buyer-identity-secret' },
    });
    const entitlements: Entitlement[] = [];
    for (let i = 0; i < (options.purchases ?? 2); i += 1) {
      entitlements.push(
        await seedEntitlement(store, {
          cloud,
          id: cloud === 'aws' ? licenseArn() : `ent-${randomUUID()}`,
          accountId: account.id,
          tenantId:
            options.entitlementTenantId === undefined ? tenantId : options.entitlementTenantId,
          plan: cloud === 'aws' ? null : 'pro',
        }),
      );
    }
    return { account, entitlements };
  };

  const tenantsOf = async (entitlements: readonly Entitlement[]) =>
    Promise.all(entitlements.map(async (e) => (await store.getEntitlement(e))!.tenantId));

  /** The account events written since `sinceEpochMs` for one account. */
  const accountEventsOf = async (account: { cloud: Cloud; id: string }, sinceEpochMs: number) =>
    (
      await store.listOutbox(
        { by: 'time', fromEpochMs: sinceEpochMs, toEpochMs: Date.now() + MINUTE_MS },
        { limit: 1_000 },
      )
    ).items.filter((m) => m.cloud === account.cloud && m.accountId === account.id);

  describe('entitlements', () => {
    it('serves one purchase by vendor id, raw with its slashes or percent-encoded, never the snapshot', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const arn = licenseArn();
      const stored = await seedEntitlement(store, {
        cloud: 'aws',
        id: arn,
        accountId: '123456789012',
        tenantId,
        productId: 'prod-code-1',
        status: 'pending_cancellation',
        plan: null,
        offer: { id: 'offer-1', startEpochMs: T0, endEpochMs: null, duration: 'P1Y' },
        contract: [{ dimension: 'users', value: 10, expiresAtEpochMs: T0 + HOUR_MS }],
        freeTrial: true,
        usageReportingId: 'usage-reporting-secret',
        snapshot: { updateTimeEpochMs: T0, data: { RawMarketplaceField: 'raw-snapshot-marker' } },
      });
      const expected = {
        id: `aws:${arn}`,
        cloud: 'aws',
        marketplaceId: arn,
        accountId: 'aws:123456789012',
        tenantId,
        productId: 'prod-code-1',
        status: 'pending_cancellation',
        plan: null,
        pendingPlan: null,
        offer: { id: 'offer-1', startAt: iso(T0), endAt: null, duration: 'P1Y' },
        freeTrial: true,
        contract: [{ dimension: 'users', value: 10, expiresAt: iso(T0 + HOUR_MS) }],
        createdAt: iso(stored.createdAtEpochMs),
        updatedAt: iso(stored.updatedAtEpochMs),
      };
      for (const raw of [true, false]) {
        const answer = await call({
          route: '/v1/entitlements/{id}',
          params: { id: `aws:${arn}` },
          raw,
        });
        expect([answer.status, answer.json]).toEqual([200, expected]);
        expect(answer.text).not.toContain('raw-snapshot-marker');
        expect(answer.text).not.toContain('usage-reporting-secret');
        expect(answer.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('answers 404 for a purchase it does not know, 400 for an id that is no vendor id', async () => {
      const unknown = await call({
        route: '/v1/entitlements/{id}',
        params: { id: `gcp:ent-${randomUUID()}` },
      });
      expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'not_found']);
      const malformed = await call({ route: '/v1/entitlements/{id}', params: { id: 'ent-1' } });
      expect([malformed.status, errorCodeOf(malformed)]).toEqual([400, 'invalid_request']);
      expect(malformed.json.error.details).toEqual([
        { path: 'path.id', message: expect.stringContaining('vendor id') },
      ]);
    });

    it('lists a tenant’s purchases a page at a time', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const { entitlements } = await aBuyer('gcp', { tenantId, purchases: 5 });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const answer: Answer = await call({
          route: '/v1/entitlements',
          query: { tenantId, limit: 2, ...(cursor ? { cursor } : {}) },
        });
        expect(answer.status).toBe(200);
        expect(answer.json.items.length).toBeLessThanOrEqual(2);
        seen.push(...answer.json.items.map((item: { id: string }) => item.id));
        cursor = answer.json.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(entitlements.map(vendorIdOf).sort());
    });

    it('lists an account’s purchases by its vendor id, and purchases by status', async () => {
      const { account, entitlements } = await aBuyer('aws', { purchases: 2 });
      const byAccount = await call({
        route: '/v1/entitlements',
        query: { accountId: vendorIdOf(account) },
      });
      expect(byAccount.json.items.map((item: { id: string }) => item.id).sort()).toEqual(
        entitlements.map(vendorIdOf).sort(),
      );
      const suspended = await seedEntitlement(store, { status: 'suspended' });
      const byStatus = await call({
        route: '/v1/entitlements',
        query: { status: 'suspended', limit: 100 },
      });
      expect(byStatus.status).toBe(200);
      expect(byStatus.json.items.map((item: { id: string }) => item.id)).toContain(
        vendorIdOf(suspended),
      );
      expect(
        byStatus.json.items.every((item: { status: string }) => item.status === 'suspended'),
      ).toBe(true);
    });

    it.each([
      ['no filter', {}],
      ['two filters', { status: 'active', tenantId: 't' }],
      ['a limit of 101', { status: 'active', limit: 101 }],
      ['a limit that is no number', { status: 'active', limit: 'ten' }],
      ['an unknown status', { status: 'expired' }],
      ['an unknown parameter', { status: 'active', sort: 'asc' }],
      ['a cursor no listing issued', { status: 'active', cursor: 'bm90LWEtY3Vyc29y' }],
    ])('refuses a listing with %s', async (_case, query) => {
      const answer = await call({ route: '/v1/entitlements', query });
      expect([answer.status, errorCodeOf(answer)]).toEqual([400, 'invalid_request']);
      expect(answer.json.error.details?.length ?? 0).toBeGreaterThan(0);
    });
  });

  describe('tenants', () => {
    it('serves a tenant’s accounts and purchases, never personal data', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const google = await aBuyer('gcp', { tenantId, purchases: 1 });
      const amazon = await aBuyer('aws', { tenantId, purchases: 2 });
      const answer = await call({ route: '/v1/tenants/{tenantId}', params: { tenantId } });
      expect(answer.status).toBe(200);
      expect(answer.json.id).toBe(tenantId);
      expect(answer.json.entitlementsNextCursor).toBeNull();
      expect(
        answer.json.accounts.sort((a: { id: string }, b: { id: string }) =>
          a.id.localeCompare(b.id),
        ),
      ).toEqual(
        [google.account, amazon.account]
          .map((account) => ({
            id: vendorIdOf(account),
            cloud: account.cloud,
            marketplaceId: account.id,
            status: 'active',
            tenantId,
            linkedAt: iso(T0),
            signedUpAt: iso(T0),
          }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      );
      expect(answer.json.entitlements.map((e: { id: string }) => e.id).sort()).toEqual(
        [...google.entitlements, ...amazon.entitlements].map(vendorIdOf).sort(),
      );
      expect(answer.text).not.toContain('buyer@example.com');
      expect(answer.text).not.toContain('buyer-identity-secret');
    });

    it('answers 404 for a tenant nothing is linked to', async () => {
      const answer = await call({
        route: '/v1/tenants/{tenantId}',
        params: { tenantId: `tenant-${randomUUID()}` },
      });
      expect([answer.status, errorCodeOf(answer)]).toEqual([404, 'not_found']);
    });
  });

  describe('linking accounts', () => {
    it('links an account, its purchases follow, and the vendor hears account.linked', async () => {
      const { account, entitlements } = await aBuyer(platform === 'aws' ? 'aws' : 'gcp');
      const tenantId = `tenant-${randomUUID()}`;
      const since = Date.now() - 1_000;
      const linked = await admin({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId },
        body: { accountId: vendorIdOf(account) },
      });
      expect(linked.status).toBe(201);
      expect(linked.json).toEqual({
        id: vendorIdOf(account),
        cloud: account.cloud,
        marketplaceId: account.id,
        status: 'active',
        tenantId,
        linkedAt: expect.any(String),
        signedUpAt: iso(T0),
      });
      expect(Date.parse(linked.json.linkedAt)).toBeGreaterThanOrEqual(since);
      expect((await store.getAccount(account))!.tenant?.tenantId).toBe(tenantId);
      expect(await tenantsOf(entitlements)).toEqual([tenantId, tenantId]);

      const [event, ...others] = await accountEventsOf(account, since);
      expect(others).toEqual([]);
      expect(event).toMatchObject({
        type: VendorEventType.accountLinked,
        tenantId,
        entitlementId: null,
        data: { previousTenantId: null },
        status: 'pending',
      });
      // The event follows its published schema.
      VENDOR_EVENT_SCHEMAS[VendorEventType.accountLinked].parse(vendorEventEnvelope(event!));
      // The audit record of the same write names who asked.
      const eventId = event!.id.slice(`${account.cloud}:`.length, -':0'.length);
      expect(await store.getEvent(account.cloud, eventId)).toMatchObject({
        type: 'VENDOR_API_ACCOUNT_LINKED',
        accountId: account.id,
        outcome: 'applied',
        payload: { actor: { keyId: 'ops' }, action: 'link', tenantId, previousTenantId: null },
      });
      // The event log serves it.
      const log = await call({
        route: '/v1/events',
        query: { from: iso(since), to: iso(Date.now() + MINUTE_MS), limit: 100 },
      });
      expect(log.json.items).toContainEqual(
        expect.objectContaining({
          id: event!.id,
          type: 'account.linked',
          accountId: vendorIdOf(account),
          tenantId,
          data: { previousTenantId: null },
          delivery: expect.objectContaining({ status: 'pending', attempts: 0 }),
        }),
      );
      const tenant = await call({ route: '/v1/tenants/{tenantId}', params: { tenantId } });
      expect(tenant.json.accounts.map((a: { id: string }) => a.id)).toEqual([vendorIdOf(account)]);

      // Again: nothing to do, nothing written.
      const again = await admin({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId },
        body: { accountId: vendorIdOf(account) },
      });
      expect([again.status, again.json.tenantId]).toEqual([200, tenantId]);
      expect(await accountEventsOf(account, since)).toHaveLength(1);
    });

    it('refuses an account linked to another tenant with 409 already_linked, changing nothing', async () => {
      const { account } = await aBuyer('gcp', { tenantId: `tenant-${randomUUID()}` });
      const before = await stateOf(store, [account]);
      const answer = await admin({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId: `tenant-${randomUUID()}` },
        body: { accountId: vendorIdOf(account) },
      });
      expect([answer.status, errorCodeOf(answer)]).toEqual([409, 'already_linked']);
      expect(await stateOf(store, [account])).toEqual(before);
    });

    it('refuses a deleted account with 409 conflict, and an unknown one with 404', async () => {
      const { account } = await aBuyer('gcp');
      await store.putAccount({ ...account, status: 'deleted' }, account.version);
      const deleted = await admin({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId: 'tenant-x' },
        body: { accountId: vendorIdOf(account) },
      });
      expect([deleted.status, errorCodeOf(deleted)]).toEqual([409, 'conflict']);
      const unknown = await admin({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId: 'tenant-x' },
        body: { accountId: `aws:${awsAccountId()}` },
      });
      expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'not_found']);
    });

    it('unlinks an account, its purchases lose the tenant, and the vendor hears account.unlinked', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const { account, entitlements } = await aBuyer('aws', { tenantId });
      const since = Date.now() - 1_000;
      const wrongTenant = await admin({
        method: 'DELETE',
        route: '/v1/tenants/{tenantId}/accounts/{accountId}',
        params: { tenantId: `tenant-${randomUUID()}`, accountId: vendorIdOf(account) },
      });
      expect([wrongTenant.status, errorCodeOf(wrongTenant)]).toEqual([404, 'not_found']);

      const unlinked = await admin({
        method: 'DELETE',
        route: '/v1/tenants/{tenantId}/accounts/{accountId}',
        params: { tenantId, accountId: vendorIdOf(account) },
        raw: true,
      });
      expect([unlinked.status, unlinked.json.tenantId, unlinked.json.linkedAt]).toEqual([
        200,
        null,
        null,
      ]);
      expect((await store.getAccount(account))!.tenant).toBeNull();
      expect(await tenantsOf(entitlements)).toEqual([null, null]);
      const [event, ...others] = await accountEventsOf(account, since);
      expect(others).toEqual([]);
      expect(event).toMatchObject({
        type: VendorEventType.accountUnlinked,
        tenantId: null,
        data: { previousTenantId: tenantId },
      });
      VENDOR_EVENT_SCHEMAS[VendorEventType.accountUnlinked].parse(vendorEventEnvelope(event!));

      const again = await admin({
        method: 'DELETE',
        route: '/v1/tenants/{tenantId}/accounts/{accountId}',
        params: { tenantId, accountId: vendorIdOf(account) },
      });
      expect([again.status, errorCodeOf(again)]).toEqual([404, 'not_found']);
      const gone = await call({ route: '/v1/tenants/{tenantId}', params: { tenantId } });
      expect(gone.status).toBe(404);
    });

    it('finishes a link that stopped after its write when called again', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      // The account's write happened; its purchases were not reached.
      const { account, entitlements } = await aBuyer('gcp', {
        tenantId,
        entitlementTenantId: null,
      });
      const answer = await admin({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId },
        body: { accountId: vendorIdOf(account) },
      });
      expect(answer.status).toBe(200);
      expect(await tenantsOf(entitlements)).toEqual([tenantId, tenantId]);
    });

    it('finishes an unlink that stopped after its write when called again', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const { account, entitlements } = await aBuyer('aws', {
        tenantId: null,
        entitlementTenantId: tenantId,
      });
      const since = Date.now() - 1_000;
      const answer = await admin({
        method: 'DELETE',
        route: '/v1/tenants/{tenantId}/accounts/{accountId}',
        params: { tenantId, accountId: vendorIdOf(account) },
      });
      expect(answer.status).toBe(200);
      expect(await tenantsOf(entitlements)).toEqual([null, null]);
      // The event went with the first call's write: none now.
      expect(await accountEventsOf(account, since)).toEqual([]);
    });
  });

  describe('the event log', () => {
    const seedLog = async (count: number, overrides: Partial<OutboxMessage> = {}) => {
      const range = ownWindow();
      const messages = Array.from({ length: count }, (_, i) =>
        anOutboxMessage({
          id: `${platform}-log-${randomUUID()}`,
          occurredAtEpochMs: range.fromEpochMs + i * MINUTE_MS,
          nextAttemptAtEpochMs: range.fromEpochMs + i * MINUTE_MS,
          entitlementId: `ent-${i}`,
          tenantId: 'tenant-log',
          ...overrides,
        }),
      );
      await seedEvents(store, ...messages);
      return { range, messages };
    };

    it('lists the events of a range, oldest first, a page at a time, as webhooks carry them', async () => {
      const { range, messages } = await seedLog(5);
      await store.ackOutbox(messages[0]!);
      const items: Array<Record<string, unknown>> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const answer: Answer = await call({
          route: '/v1/events',
          query: {
            from: iso(range.fromEpochMs),
            to: iso(range.toEpochMs),
            limit: 2,
            ...(cursor ? { cursor } : {}),
          },
        });
        expect(answer.status).toBe(200);
        items.push(...answer.json.items);
        cursor = answer.json.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(items.map((item) => item.id)).toEqual(messages.map((m) => m.id));
      const { delivery, ...envelope } = items[1] as { delivery: unknown };
      expect(envelope).toEqual(vendorEventEnvelope(messages[1]!));
      expect(delivery).toEqual({
        status: 'pending',
        attempts: 0,
        deliveredTo: [],
        lastError: null,
        nextAttemptAt: iso(messages[1]!.nextAttemptAtEpochMs),
      });
      expect(items[0]!.delivery).toMatchObject({ status: 'delivered', nextAttemptAt: null });
    });

    it('serves one event with its deliveries, and 404 for an unknown one', async () => {
      const { messages } = await seedLog(1);
      const [message] = messages;
      await store.recordDeliveryAttempt({
        messageId: message!.id,
        endpointId: 'endpoint-1',
        attempt: 1,
        atEpochMs: T0,
        statusCode: 503,
        latencyMs: 12,
        outcome: 'failed',
        error: 'HTTP 503',
        expiresAtEpochSeconds: Math.floor(T0 / 1000) + 86_400,
      });
      await store.retryOutboxAt(message!, T0 + MINUTE_MS, 'HTTP 503');
      const answer = await call({ route: '/v1/events/{id}', params: { id: message!.id } });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        id: message!.id,
        delivery: { status: 'pending', lastError: 'HTTP 503' },
        deliveries: [
          {
            endpointId: 'endpoint-1',
            attempt: 1,
            at: iso(T0),
            statusCode: 503,
            latencyMs: 12,
            outcome: 'failed',
            error: 'HTTP 503',
          },
        ],
        deliveriesNextCursor: null,
      });
      const unknown = await call({
        route: '/v1/events/{id}',
        params: { id: `nope-${randomUUID()}` },
      });
      expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'not_found']);
    });

    it('replays one event: it goes back to pending, due now, with no attempts', async () => {
      const { messages } = await seedLog(1);
      const id = messages[0]!.id;
      await store.failOutbox(messages[0]!, 'HTTP 500', ['endpoint-1']);
      const before = Date.now();
      const answer = await admin({
        method: 'POST',
        route: '/v1/events/{id}/replay',
        params: { id },
      });
      expect(answer.status).toBe(202);
      expect(answer.json.delivery).toMatchObject({
        status: 'pending',
        attempts: 0,
        deliveredTo: [],
        lastError: null,
      });
      const stored = await store.getOutboxMessage(id);
      expect(stored).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
      expect(stored!.nextAttemptAtEpochMs).toBeGreaterThanOrEqual(before - 1_000);
      const unknown = await admin({
        method: 'POST',
        route: '/v1/events/{id}/replay',
        params: { id: `nope-${randomUUID()}` },
      });
      expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'not_found']);
    });

    it('replays a range a bounded number at a time, saying how many and where to go on', async () => {
      const { range, messages } = await seedLog(5);
      for (const message of messages) await store.ackOutbox(message);
      const body = { from: iso(range.fromEpochMs), to: iso(range.toEpochMs), limit: 2 };
      const counts: number[] = [];
      let cursor: string | null = null;
      do {
        const answer: Answer = await admin({
          method: 'POST',
          route: '/v1/events/replay',
          body: { ...body, ...(cursor ? { cursor } : {}) },
        });
        expect(answer.status).toBe(202);
        counts.push(answer.json.replayed);
        cursor = answer.json.nextCursor;
      } while (cursor !== null && counts.length < 10);
      expect(counts).toEqual([2, 2, 1]);
      for (const message of messages) {
        expect((await store.getOutboxMessage(message.id))!.status).toBe('pending');
      }
      const whole = await admin({
        method: 'POST',
        route: '/v1/events/replay',
        body: { from: iso(range.fromEpochMs), to: iso(range.toEpochMs) },
      });
      expect(whole.json).toEqual({ replayed: 5, nextCursor: null });
    });
  });

  describe('usage', () => {
    const tenMinutesAgo = () => iso(Date.now() - 10 * MINUTE_MS);

    it('takes a batch record by record, counts each usage id once, and lists the hour', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const cloud: Cloud = platform === 'aws' ? 'aws' : 'gcp';
      const {
        entitlements: [entitlement],
      } = await aBuyer(cloud, { tenantId, purchases: 1 });
      const timestamp = tenMinutesAgo();
      const records = [
        {
          usageId: `u-${randomUUID()}`,
          entitlementId: vendorIdOf(entitlement!),
          dimension: 'requests',
          quantity: 5,
          timestamp,
        },
        {
          usageId: `u-${randomUUID()}`,
          entitlementId: vendorIdOf(entitlement!),
          dimension: 'not-billed',
          quantity: 1,
          timestamp,
        },
        { usageId: `u-${randomUUID()}`, tenantId, dimension: 'requests', quantity: 7, timestamp },
        { quantity: 'lots' },
      ];
      const first = await call({
        method: 'POST',
        route: '/v1/usage',
        key: 'usage',
        body: { records },
      });
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({ accepted: 2, duplicates: 0, rejected: 2 });
      expect(
        first.json.results.map((r: { status: string; code?: string }) => [r.status, r.code]),
      ).toEqual([
        ['accepted', undefined],
        ['rejected', 'unknown_dimension'],
        ['accepted', undefined],
        ['rejected', 'invalid_record'],
      ]);
      expect(first.json.results[3].usageId).toBeNull();

      const again = await call({
        method: 'POST',
        route: '/v1/usage',
        key: 'usage',
        body: { records },
      });
      expect(again.json).toMatchObject({ accepted: 0, duplicates: 2, rejected: 2 });

      const hours = await call({
        route: '/v1/usage',
        query: {
          entitlementId: vendorIdOf(entitlement!),
          from: iso(Date.now() - 3 * HOUR_MS),
          to: iso(Date.now() + HOUR_MS),
        },
      });
      expect(hours.status).toBe(200);
      expect(hours.json.items).toEqual([
        {
          entitlementId: vendorIdOf(entitlement!),
          dimension: 'requests',
          hourStart: iso(Math.floor(Date.parse(timestamp) / HOUR_MS) * HOUR_MS),
          quantity: 12,
          allocations: [],
          state: 'open',
          sealedAt: null,
          answer: null,
          updatedAt: expect.any(String),
        },
      ]);
      expect(hours.json.nextCursor).toBeNull();
    });

    it('answers a retried batch duplicate though the buyer cancelled in between, and refuses other content under a counted id', async () => {
      const cloud: Cloud = platform === 'aws' ? 'aws' : 'gcp';
      const {
        entitlements: [entitlement],
      } = await aBuyer(cloud, { purchases: 1 });
      const record = {
        usageId: `u-${randomUUID()}`,
        entitlementId: vendorIdOf(entitlement!),
        dimension: 'requests',
        quantity: 5,
        timestamp: tenMinutesAgo(),
      };
      const post = (records: unknown[]) =>
        call({ method: 'POST', route: '/v1/usage', key: 'usage', body: { records } });
      expect((await post([record])).json.results[0].status).toBe('accepted');
      // The first answer was lost; the buyer cancels before the retry.
      await store.putEntitlement(
        { ...entitlement!, status: 'cancelled', endedAtEpochMs: Date.now() - 5 * MINUTE_MS },
        entitlement!.version,
      );

      const retry = await post([record]);
      const other = await post([{ ...record, quantity: 50 }]);

      expect(retry.json.results).toEqual([{ usageId: record.usageId, status: 'duplicate' }]);
      expect(other.json.results).toEqual([
        {
          usageId: record.usageId,
          status: 'rejected',
          code: 'conflicting_duplicate',
          message: expect.stringContaining('as 5 of "requests"'),
        },
      ]);
      const hours = await call({
        route: '/v1/usage',
        query: { entitlementId: vendorIdOf(entitlement!) },
      });
      expect(hours.json.items.map((h: { quantity: number }) => h.quantity)).toEqual([5]);
    });

    it("takes a cancelled purchase's usage dated before its end as each marketplace does, and none after", async () => {
      const cloud: Cloud = platform === 'aws' ? 'aws' : 'gcp';
      const {
        entitlements: [entitlement],
      } = await aBuyer(cloud, { purchases: 1 });
      const endedAtEpochMs = Date.now() - 3 * HOUR_MS;
      await store.putEntitlement(
        { ...entitlement!, status: 'cancelled', endedAtEpochMs },
        entitlement!.version,
      );
      const record = (atEpochMs: number) => ({
        usageId: `u-${randomUUID()}`,
        entitlementId: vendorIdOf(entitlement!),
        dimension: 'requests',
        quantity: 1,
        timestamp: iso(atEpochMs),
      });

      const answer = await call({
        method: 'POST',
        route: '/v1/usage',
        key: 'usage',
        body: { records: [record(endedAtEpochMs - HOUR_MS), record(endedAtEpochMs + MINUTE_MS)] },
      });

      // Google bills the hours that began before the end whenever they come; AWS takes final
      // usage for about an hour after the end only, long over here.
      expect(
        answer.json.results.map((r: { status: string; code?: string }) => r.code ?? r.status),
      ).toEqual([
        platform === 'gcp' ? 'accepted' : 'entitlement_not_active',
        'entitlement_not_active',
      ]);
      expect(answer.json.results[1].message).toMatch(/usage after its end is not billed/);
    });

    it('lists hours sent and rejected with their allocations and the marketplace answers', async () => {
      const cloud: Cloud = platform === 'aws' ? 'aws' : 'gcp';
      const {
        entitlements: [entitlement],
      } = await aBuyer(cloud, { purchases: 1 });
      const openHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
      const [sentHour, rejectedHour] = [openHour - 2 * HOUR_MS, openHour - HOUR_MS];
      const record = (hour: number, quantity: number, allocations?: unknown[]) => ({
        usageId: `u-${randomUUID()}`,
        entitlementId: vendorIdOf(entitlement!),
        dimension: 'requests',
        quantity,
        timestamp: iso(hour + MINUTE_MS),
        ...(allocations ? { allocations } : {}),
      });
      const posted = await call({
        method: 'POST',
        route: '/v1/usage',
        key: 'usage',
        body: {
          records: [
            record(sentHour, 3, [{ tags: { team: 'a' }, quantity: 2 }, { quantity: 1 }]),
            record(sentHour, 4, [{ tags: { team: 'b', env: 'prod' }, quantity: 4 }]),
            record(rejectedHour, 6),
          ],
        },
      });
      expect(posted.json).toMatchObject({ accepted: 3, rejected: 0 });
      const key = (hourStartEpochMs: number) => ({
        cloud,
        entitlementId: entitlement!.id,
        dimension: 'requests',
        hourStartEpochMs,
      });
      const sentAt = Date.now();
      await store.sealUsageHour(key(sentHour), sentAt);
      await store.markUsageHour(key(sentHour), 'sent', {
        status: 'Success',
        meteringRecordId: 'mr-0123',
        reason: null,
        atEpochMs: sentAt,
      });
      await store.sealUsageHour(key(rejectedHour), sentAt);
      await store.markUsageHour(key(rejectedHour), 'rejected', {
        status: 'CustomerNotSubscribed',
        meteringRecordId: null,
        reason: 'CustomerNotSubscribed: the buyer is not subscribed for this hour',
        atEpochMs: sentAt + 1,
      });

      const hours = await call({
        route: '/v1/usage',
        query: { entitlementId: vendorIdOf(entitlement!), from: iso(sentHour) },
      });

      expect(hours.status).toBe(200);
      expect(hours.json).toEqual({
        items: [
          {
            entitlementId: vendorIdOf(entitlement!),
            dimension: 'requests',
            hourStart: iso(sentHour),
            quantity: 7,
            allocations: [
              { tags: { env: 'prod', team: 'b' }, quantity: 4 },
              { tags: { team: 'a' }, quantity: 2 },
              { tags: {}, quantity: 1 },
            ],
            state: 'sent',
            sealedAt: iso(sentAt),
            answer: {
              status: 'Success',
              meteringRecordId: 'mr-0123',
              reason: null,
              at: iso(sentAt),
            },
            updatedAt: iso(sentAt),
          },
          {
            entitlementId: vendorIdOf(entitlement!),
            dimension: 'requests',
            hourStart: iso(rejectedHour),
            quantity: 6,
            allocations: [],
            state: 'rejected',
            sealedAt: iso(sentAt),
            answer: {
              status: 'CustomerNotSubscribed',
              meteringRecordId: null,
              reason: 'CustomerNotSubscribed: the buyer is not subscribed for this hour',
              at: iso(sentAt + 1),
            },
            updatedAt: iso(sentAt + 1),
          },
        ],
        nextCursor: null,
      });
    });

    it("refuses usage for the other cloud's purchases, which this cloud's metering never sends", async () => {
      const other: Cloud = platform === 'aws' ? 'gcp' : 'aws';
      const tenantId = `tenant-${randomUUID()}`;
      // Billed dimensions on both clouds (`requests`), so only the cloud can tell them apart.
      const {
        entitlements: [entitlement],
      } = await aBuyer(other, { tenantId, purchases: 1 });
      const record = { dimension: 'requests', quantity: 1, timestamp: tenMinutesAgo() };
      const answer = await call({
        method: 'POST',
        route: '/v1/usage',
        key: 'usage',
        body: {
          records: [
            { ...record, usageId: `u-${randomUUID()}`, entitlementId: vendorIdOf(entitlement!) },
            { ...record, usageId: `u-${randomUUID()}`, tenantId },
          ],
        },
      });
      expect(answer.status).toBe(200);
      expect(
        answer.json.results.map((r: { status: string; code?: string }) => [r.status, r.code]),
      ).toEqual([
        ['rejected', 'entitlement_not_found'],
        ['rejected', 'no_active_entitlement'],
      ]);
      const hours = await store.listUsageHours(
        {
          cloud: other,
          entitlementId: entitlement!.id,
          fromEpochMs: 0,
          toEpochMs: Date.now() + HOUR_MS,
        },
        { limit: 10, cursor: null },
      );
      expect(hours.items).toEqual([]);
    });

    it.each([
      ['no records', { records: [] }],
      [
        '1,001 records',
        { records: Array.from({ length: 1_001 }, (_, i) => ({ usageId: `u${i}` })) },
      ],
      ['records that are no list', { records: { usageId: 'u1' } }],
      ['a field beside the records', { records: [{}], dryRun: true }],
      ['a list instead of the batch', [{ usageId: 'u1' }]],
    ])('refuses a batch with %s as a whole', async (_case, body) => {
      const answer = await call({ method: 'POST', route: '/v1/usage', key: 'usage', body });
      expect([answer.status, errorCodeOf(answer)]).toEqual([400, 'invalid_request']);
    });

    it('answers 404 for the usage of an unknown purchase', async () => {
      const answer = await call({
        route: '/v1/usage',
        query: { entitlementId: `aws:${licenseArn()}` },
      });
      expect([answer.status, errorCodeOf(answer)]).toEqual([404, 'not_found']);
    });
  });

  describe('authentication', () => {
    const secretOf = (key: string) => key.slice(key.indexOf('_', 4) + 1);

    it.each([
      ['no Authorization header', { key: null }],
      ['an empty Bearer', { authorization: 'Bearer ' }],
      ['another scheme', { authorization: `Basic ${Buffer.from('reader:x').toString('base64')}` }],
      ['a token that is no key', { authorization: 'Bearer not-a-key' }],
      ['an unknown key id', { authorization: `Bearer mck_stranger_${secretOf(KEYS.read.key)}` }],
      ['a wrong secret', { authorization: `Bearer mck_reader_${secretOf(KEYS.admin.key)}` }],
    ])('answers 401 with a Bearer challenge for %s', async (_case, input) => {
      const answer = await call({
        route: '/v1/entitlements',
        query: { status: 'active' },
        ...input,
      });
      expect([answer.status, errorCodeOf(answer)]).toEqual([401, 'unauthorized']);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    it('answers an unknown key id and a wrong secret the same way', async () => {
      const secret = secretOf(KEYS.read.key);
      const unknownId = await call({
        route: '/v1/entitlements',
        query: { status: 'active' },
        authorization: `Bearer mck_stranger_${secret}`,
      });
      const wrongSecret = await call({
        route: '/v1/entitlements',
        query: { status: 'active' },
        authorization: `Bearer mck_reader_${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`,
      });
      expect([
        wrongSecret.status,
        wrongSecret.text,
        wrongSecret.headers.get('www-authenticate'),
      ]).toEqual([unknownId.status, unknownId.text, unknownId.headers.get('www-authenticate')]);
    });

    it.each([
      ['a read key reporting usage', 'read', 'POST', '/v1/usage', { records: [{}] }],
      ['a usage key reading purchases', 'usage', 'GET', '/v1/entitlements', undefined],
      ['an admin key reading the log', 'admin', 'GET', '/v1/events', undefined],
      ['a read key replaying', 'read', 'POST', '/v1/events/replay', { from: iso(0), to: iso(1) }],
    ] as const)(
      'answers 403 for %s: scopes are independent',
      async (_case, key, method, route, body) => {
        const answer = await call({
          method,
          route,
          key,
          ...(route === '/v1/entitlements' ? { query: { status: 'active' } } : {}),
          ...(body === undefined ? {} : { body }),
        });
        expect([answer.status, errorCodeOf(answer)]).toEqual([403, 'forbidden']);
        expect(answer.headers.get('www-authenticate')).toContain('insufficient_scope');
      },
    );

    it('lets a key with every scope do everything', async () => {
      const answer = await call({
        key: 'all',
        route: '/v1/entitlements',
        query: { status: 'active', limit: 1 },
      });
      expect(answer.status).toBe(200);
    });
  });

  describe('the edge', () => {
    it('answers 404 for an unknown route (once authenticated) and 405 for a method a route lacks', async () => {
      const unknown = await call({ route: null, path: '/v1/entitlement' });
      expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'not_found']);
      const outside = await call({ route: null, path: '/v2/entitlements' });
      expect(outside.status).toBe(404);
      const anonymous = await call({ route: null, path: '/v1/entitlement', key: null });
      expect(anonymous.status).toBe(401);
      const wrongMethod = await call({ route: null, method: 'PUT', path: '/v1/usage', body: {} });
      expect([wrongMethod.status, errorCodeOf(wrongMethod)]).toEqual([405, 'method_not_allowed']);
      expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
      const deleteList = await call({ route: null, method: 'DELETE', path: '/v1/entitlements' });
      expect([deleteList.status, deleteList.headers.get('allow')]).toEqual([405, 'GET']);
    });

    it('refuses every bad write with the right code, and changes nothing', async () => {
      const tenantId = `tenant-${randomUUID()}`;
      const { account } = await aBuyer('gcp', { tenantId });
      const free = await aBuyer('aws');
      const link = (input: Partial<CallInput>): CallInput => ({
        method: 'POST',
        route: '/v1/tenants/{tenantId}/accounts',
        params: { tenantId: `tenant-${randomUUID()}` },
        key: 'admin',
        body: { accountId: vendorIdOf(free.account) },
        ...input,
      });
      const oversized = JSON.stringify({
        accountId: vendorIdOf(free.account),
        padding: 'x'.repeat(ONE_MEBIBYTE),
      });
      const before = await stateOf(store, [account, free.account]);
      const refused: Array<[string, CallInput, number, string | null]> = [
        ['no key', link({ key: null }), 401, 'unauthorized'],
        ['a read key', link({ key: 'read' }), 403, 'forbidden'],
        ['a body over 1 MiB', link({ body: oversized }), 413, 'payload_too_large'],
        [
          'text',
          link({ body: 'accountId=x', headers: { 'content-type': 'text/plain' } }),
          415,
          'unsupported_media_type',
        ],
        [
          'no content type',
          link({ body: Buffer.from('{"accountId":"gcp:x"}'), headers: { 'content-type': '' } }),
          415,
          'unsupported_media_type',
        ],
        [
          'a form',
          link({
            body: 'accountId=x',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
          415,
          'unsupported_media_type',
        ],
        // API Gateway hands a JSON body over as text: bytes that are not UTF-8 arrive replaced
        // (U+FFFD), and the body then fails its schema instead.
        [
          'bytes that are not UTF-8',
          link({ body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) }),
          400,
          platform === 'aws' ? 'invalid_request' : 'invalid_json',
        ],
        [
          'an unknown field',
          link({ body: { accountId: vendorIdOf(free.account), force: true } }),
          400,
          'invalid_request',
        ],
        [
          'an account that is no vendor id',
          link({ body: { accountId: free.account.id } }),
          400,
          'invalid_request',
        ],
        ['a tenant id with a slash', link({ params: { tenantId: 'a/b' } }), 400, 'invalid_request'],
        [
          'a linked account',
          link({ body: { accountId: vendorIdOf(account) } }),
          409,
          'already_linked',
        ],
        [
          'a wrong tenant on unlink',
          {
            method: 'DELETE',
            route: '/v1/tenants/{tenantId}/accounts/{accountId}',
            key: 'admin',
            params: { tenantId: 'someone-else', accountId: vendorIdOf(account) },
          },
          404,
          'not_found',
        ],
        [
          'a body on unlink',
          {
            method: 'DELETE',
            route: '/v1/tenants/{tenantId}/accounts/{accountId}',
            key: 'admin',
            params: { tenantId, accountId: vendorIdOf(account) },
            body: { reason: 'x' },
          },
          400,
          'invalid_request',
        ],
        [
          'a usage batch over 1 MiB',
          {
            method: 'POST',
            route: '/v1/usage',
            key: 'usage',
            body: JSON.stringify({ records: [{ usageId: 'x'.repeat(ONE_MEBIBYTE) }] }),
          },
          413,
          'payload_too_large',
        ],
        [
          'a replay of a range backwards',
          {
            method: 'POST',
            route: '/v1/events/replay',
            key: 'admin',
            body: { from: iso(T0), to: iso(T0 - 1) },
          },
          400,
          'invalid_request',
        ],
        // The Functions Framework answers what it cannot parse itself, before the function
        // (and before the API key): an HTML page (`null` here) instead of the API's error.
        [
          'malformed JSON',
          link({ body: '{"accountId": ' }),
          400,
          platform === 'aws' ? 'invalid_json' : null,
        ],
        [
          'JSON that is no object',
          link({ body: 'null', key: null }),
          platform === 'aws' ? 401 : 400,
          platform === 'aws' ? 'unauthorized' : null,
        ],
        [
          'a charset other than UTF-8',
          link({ headers: { 'content-type': 'application/json; charset=iso-8859-1' } }),
          415,
          platform === 'aws' ? 'unsupported_media_type' : null,
        ],
        [
          'UTF-16 JSON',
          link({
            body: Buffer.from(JSON.stringify({ accountId: vendorIdOf(free.account) }), 'utf16le'),
            headers: { 'content-type': 'application/json; charset=utf-16le' },
          }),
          415,
          'unsupported_media_type',
        ],
        [
          'a gzip body, which the framework decompresses first on Google Cloud',
          link({
            body: gzipSync(JSON.stringify({ accountId: vendorIdOf(free.account) })),
            headers: { 'content-encoding': 'gzip' },
          }),
          415,
          'unsupported_media_type',
        ],
        [
          'an unknown content encoding',
          link({ headers: { 'content-encoding': 'zstd-like' } }),
          415,
          platform === 'aws' ? 'unsupported_media_type' : null,
        ],
        [
          'a form of 1,001 fields',
          link({
            body: Array.from({ length: 1_001 }, (_, i) => `f${i}=1`).join('&'),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
          platform === 'aws' ? 415 : 413,
          platform === 'aws' ? 'unsupported_media_type' : null,
        ],
      ];
      // Express logs the errors of the Functions Framework's parsers to the console.
      const console = jest.spyOn(global.console, 'error').mockImplementation(() => undefined);
      try {
        for (const [what, input, status, code] of refused) {
          const answer = await call(input);
          expect([what, answer.status]).toEqual([what, status]);
          if (code === null) {
            expect(answer.headers.get('content-type')).toContain('text/html');
            expect(answer.text).not.toMatch(/SyntaxError|at \w+ \(|node_modules/);
          } else {
            expect([what, errorCodeOf(answer)]).toEqual([what, code]);
          }
        }
      } finally {
        console.mockRestore();
      }
      expect(await stateOf(store, [account, free.account])).toEqual(before);
    });

    it('checks the size of a body before the API key, and, on Google Cloud only, after the framework parsed it', async () => {
      const parse = jest.spyOn(JSON, 'parse');
      try {
        // 2.5 million tiny objects, about 7.5 MB, from a caller without a key.
        const body = `[${Array<string>(2_500_000).fill('{}').join(',')}]`;
        const answer = await call({ method: 'POST', route: '/v1/usage', key: null, body });
        expect([answer.status, errorCodeOf(answer)]).toEqual([413, 'payload_too_large']);
        const longest = Math.max(
          0,
          ...parse.mock.calls.map(([text]) => (typeof text === 'string' ? text.length : 0)),
        );
        // The Functions Framework reads and parses every body before the function runs.
        if (platform === 'aws') expect(longest).toBeLessThan(ONE_MEBIBYTE);
        else expect(longest).toBe(body.length);
      } finally {
        parse.mockRestore();
      }
    });

    it('refuses a usage batch over the limit without counting any of it', async () => {
      const cloud: Cloud = platform === 'aws' ? 'aws' : 'gcp';
      const {
        entitlements: [entitlement],
      } = await aBuyer(cloud, { purchases: 1 });
      const record = {
        usageId: `u-${randomUUID()}`,
        entitlementId: vendorIdOf(entitlement!),
        dimension: 'requests',
        quantity: 1,
        timestamp: iso(Date.now() - 10 * MINUTE_MS),
      };
      const padded = { ...record, padding: 'x'.repeat(ONE_MEBIBYTE) };
      const answer = await call({
        method: 'POST',
        route: '/v1/usage',
        key: 'usage',
        body: { records: [record, padded] },
      });
      expect([answer.status, errorCodeOf(answer)]).toEqual([413, 'payload_too_large']);
      const hours = await call({
        route: '/v1/usage',
        query: { entitlementId: vendorIdOf(entitlement!) },
      });
      expect(hours.json.items).toEqual([]);
    });
  });
});
