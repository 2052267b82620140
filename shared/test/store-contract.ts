import { randomUUID } from 'node:crypto';
import {
  ConcurrencyConflictError,
  NotFoundError,
  UsageHourSealedError,
  UsageHourTotalTooLargeError,
  ValidationError,
} from '../domain/errors';
import { MAX_USAGE_QUANTITY } from '../domain/limits';
import { HOUR_MS } from '../domain/time';
import { outboxOrderingKey } from '../domain/model';
import type {
  DeliveryAttempt,
  Entitlement,
  OutboxMessage,
  UsageHour,
  UsageHourKey,
} from '../domain/model';
import type { OutboxLease, OutboxQuery, Page, Store, UsageHourQuery } from '../ports/store';
import {
  aDecision,
  aDeliveryAttempt,
  anAccount,
  anEntitlement,
  anEventRecord,
  anOutboxMessage,
  T0,
} from './builders';

export interface StoreUnderTest {
  readonly store: Store;
  /**
   * False for an engine that applies each commit atomically but does not isolate a
   * transaction's reads from concurrent commits; the contention cases then cannot pass and
   * are skipped with a printed reason.
   */
  readonly isolatesTransactions: boolean;
  /** Drops the data this suite wrote (each suite gets its own table or project). */
  readonly teardown: () => Promise<void>;
}

const HOUR = Date.UTC(2026, 10, 22, 9);

const aUsageKey = (overrides: Partial<UsageHourKey> = {}): UsageHourKey => ({
  cloud: 'aws',
  entitlementId: `arn:aws:license-manager::123456789012:license:l-${randomUUID()}`,
  dimension: 'requests',
  hourStartEpochMs: HOUR,
  ...overrides,
});

const ingest = (key: UsageHourKey, records: Array<[string, number]>) => ({
  ...key,
  records: records.map(([usageId, quantity]) => ({ usageId, quantity })),
  dedupeExpiresAtEpochSeconds: Math.floor(T0 / 1000) + 86_400,
  nowEpochMs: T0,
});

/** As `ingest`, each record with tags or without (`undefined`). */
const tagged = (
  key: UsageHourKey,
  records: Array<[string, number, Record<string, string> | undefined]>,
) => ({
  ...key,
  records: records.map(([usageId, quantity, tags]) => ({
    usageId,
    quantity,
    ...(tags === undefined ? {} : { tags }),
  })),
  dedupeExpiresAtEpochSeconds: Math.floor(T0 / 1000) + 86_400,
  nowEpochMs: T0,
});

/**
 * The behaviour every `Store` adapter must show, run against a real engine. Each test sets up
 * its own data with fresh ids, so tests are independent and may share one engine.
 */
export const describeStoreContract = (name: string, setup: () => Promise<StoreUnderTest>): void => {
  describe(`Store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;

    beforeAll(async () => {
      subject = await setup();
      store = subject.store;
    });
    afterAll(async () => subject?.teardown());

    /** Runs a contention case only where the engine isolates transactions; says so otherwise. */
    const contention = (title: string, body: () => Promise<void>): void =>
      it(title, async () => {
        if (!subject.isolatesTransactions) {
          console.warn(
            `[${name}] skipped "${title}": this engine does not isolate transactions ` +
              '(the in-process Firestore emulator); the case runs on DynamoDB Local and on ' +
              "Google's emulator when FIRESTORE_EMULATOR_HOST is set",
          );
          return;
        }
        await body();
      });

    describe('accounts and entitlements', () => {
      it('returns null for what was never written', async () => {
        expect(await store.getAccount({ cloud: 'gcp', id: 'nobody' })).toBeNull();
        expect(await store.getEntitlement({ cloud: 'aws', id: 'arn:aws:nothing' })).toBeNull();
        expect(await store.getEvent('gcp', 'never-seen')).toBeNull();
        expect(await store.getOutboxMessage('never-written')).toBeNull();
      });

      it('creates a record if absent and returns it with version 1', async () => {
        const entitlement = anEntitlement({
          cloud: 'aws',
          id: `arn:aws:license-manager::1:license/l-${randomUUID()}`,
        });
        const stored = await store.putEntitlement(entitlement, 0);
        expect(stored).toEqual({ ...entitlement, version: 1 });
        expect(await store.getEntitlement(entitlement)).toEqual(stored);
      });

      it('round-trips every field of an account, nested data included', async () => {
        const account = anAccount({
          status: 'active',
          tenant: { tenantId: 'tenant-1', linkedAtEpochMs: T0 },
          signedUpAtEpochMs: T0,
          personal: { userIdentity: 'obfuscated-1', email: 'buyer@example.com' },
          snapshot: {
            updateTimeEpochMs: T0,
            data: { approvals: [{ name: 'signup', state: 'APPROVED' }], n: 1.5, none: null },
          },
        });
        const stored = await store.putAccount(account, 0);
        expect(await store.getAccount(account)).toEqual(stored);
        expect(stored.version).toBe(1);
      });

      it('round-trips offers, contracts and nulls of an entitlement', async () => {
        const entitlement = anEntitlement({
          offer: {
            id: 'projects/p/services/s/privateOffers/o1',
            startEpochMs: T0,
            endEpochMs: null,
            duration: 'P1Y',
          },
          pendingPlan: 'enterprise',
          contract: [
            { dimension: 'seats', value: 10, expiresAtEpochMs: T0 + HOUR_MS },
            { dimension: 'sso', value: true, expiresAtEpochMs: null },
            { dimension: 'tier', value: 'gold', expiresAtEpochMs: null },
          ],
          freeTrial: true,
          usageReportingId: 'project_number:625643682501',
          tenantId: 'tenant-9',
          status: 'cancelled',
          endedAtEpochMs: T0 + 5 * HOUR_MS,
          purgedAtEpochMs: T0 + 6 * HOUR_MS,
        });
        const stored = await store.putEntitlement(entitlement, 0);
        expect(await store.getEntitlement(entitlement)).toEqual(stored);
      });

      it('refuses to create what exists, carrying the current record', async () => {
        const account = anAccount();
        const stored = await store.putAccount(account, 0);
        const error = await store
          .putAccount({ ...account, status: 'active' }, 0)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyConflictError);
        expect((error as ConcurrencyConflictError).current).toEqual(stored);
        expect((error as ConcurrencyConflictError).retryable).toBe(true);
      });

      it('updates with the current version and raises on a stale one, carrying the current record', async () => {
        const entitlement = anEntitlement();
        const v1 = await store.putEntitlement(entitlement, 0);
        const v2 = await store.putEntitlement({ ...v1, status: 'pending_cancellation' }, 1);
        expect(v2.version).toBe(2);
        const error = await store
          .putEntitlement({ ...v1, status: 'cancelled' }, 1)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyConflictError);
        expect((error as ConcurrencyConflictError<Entitlement>).current).toEqual(v2);
        expect(await store.getEntitlement(entitlement)).toEqual(v2);
      });

      it('raises a conflict carrying null when updating what does not exist', async () => {
        const error = await store.putEntitlement(anEntitlement(), 3).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyConflictError);
        expect((error as ConcurrencyConflictError).current).toBeNull();
      });

      contention('lets exactly one of 10 concurrent writers of the same version win', async () => {
        const entitlement = await store.putEntitlement(anEntitlement(), 0);
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            store.putEntitlement({ ...entitlement, plan: `plan-${i}` }, 1),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).toHaveLength(1);
        for (const r of lost)
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyConflictError);
        expect((await store.getEntitlement(entitlement))?.version).toBe(2);
      });
    });

    describe('applyDecision', () => {
      it('writes the event, the new state and the outbox rows together', async () => {
        const account = anAccount();
        const entitlement = anEntitlement({ accountId: account.id });
        const outbox = [
          anOutboxMessage({ entitlementId: entitlement.id }),
          anOutboxMessage({ entitlementId: entitlement.id }),
        ];
        const decision = aDecision({
          event: anEventRecord({ accountId: account.id, entitlementId: entitlement.id }),
          account: { next: account, expectedVersion: 0 },
          entitlement: { next: entitlement, expectedVersion: 0 },
          outbox,
        });
        expect(await store.applyDecision(decision)).toBe('applied');
        expect(await store.getEvent('gcp', decision.event.eventId)).toEqual(decision.event);
        expect(await store.getAccount(account)).toEqual({ ...account, version: 1 });
        expect(await store.getEntitlement(entitlement)).toEqual({ ...entitlement, version: 1 });
        for (const message of outbox)
          expect(await store.getOutboxMessage(message.id)).toEqual(message);
        const context = await store.loadEventContext({
          cloud: 'gcp',
          eventId: decision.event.eventId,
          accountId: account.id,
          entitlementId: entitlement.id,
        });
        expect(context).toEqual({
          eventRecorded: true,
          account: { ...account, version: 1 },
          entitlement: { ...entitlement, version: 1 },
        });
      });

      it('is a no-op for an event id already recorded', async () => {
        const event = anEventRecord();
        const first = aDecision({
          event,
          entitlement: { next: anEntitlement(), expectedVersion: 0 },
        });
        expect(await store.applyDecision(first)).toBe('applied');
        const again = aDecision({
          event: { ...event, type: 'SOMETHING_ELSE' },
          entitlement: { next: anEntitlement(), expectedVersion: 0 },
          outbox: [anOutboxMessage()],
        });
        expect(await store.applyDecision(again)).toBe('duplicate');
        expect(await store.getEvent('gcp', event.eventId)).toEqual(event);
        expect(await store.getEntitlement(again.entitlement!.next)).toBeNull();
        expect(await store.getOutboxMessage(again.outbox[0]!.id)).toBeNull();
      });

      it('keeps the same event id apart per cloud', async () => {
        const eventId = `shared-${randomUUID()}`;
        expect(
          await store.applyDecision(aDecision({ event: anEventRecord({ cloud: 'gcp', eventId }) })),
        ).toBe('applied');
        expect(
          await store.applyDecision(aDecision({ event: anEventRecord({ cloud: 'aws', eventId }) })),
        ).toBe('applied');
      });

      it('leaves nothing behind when the decision fails', async () => {
        const existing = await store.putEntitlement(anEntitlement(), 0);
        const account = anAccount();
        const decision = aDecision({
          account: { next: account, expectedVersion: 0 },
          entitlement: { next: { ...existing, status: 'cancelled' }, expectedVersion: 7 },
          outbox: [anOutboxMessage()],
        });
        const error = await store.applyDecision(decision).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyConflictError);
        expect((error as ConcurrencyConflictError).current).toEqual(existing);
        expect(await store.getEvent('gcp', decision.event.eventId)).toBeNull();
        expect(await store.getAccount(account)).toBeNull();
        expect(await store.getEntitlement(existing)).toEqual(existing);
        expect(await store.getOutboxMessage(decision.outbox[0]!.id)).toBeNull();
      });

      it('loads an empty context for an unknown event and records', async () => {
        expect(
          await store.loadEventContext({
            cloud: 'aws',
            eventId: `e-${randomUUID()}`,
            accountId: 'a-none',
            entitlementId: null,
          }),
        ).toEqual({ eventRecorded: false, account: null, entitlement: null });
      });

      contention('applies exactly one of 5 concurrent decisions on the same version', async () => {
        const entitlement = await store.putEntitlement(anEntitlement(), 0);
        const results = await Promise.allSettled(
          Array.from({ length: 5 }, () =>
            store.applyDecision(
              aDecision({
                entitlement: { next: { ...entitlement, plan: 'other' }, expectedVersion: 1 },
              }),
            ),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await store.getEntitlement(entitlement))?.version).toBe(2);
      });
    });

    describe('validation before any write', () => {
      it.each([
        ['an empty id', { id: '' }],
        ['a control character', { id: 'ent\u0000x' }],
        ['surrounding spaces', { id: ' ent ' }],
        ['a 600-byte id', { id: 'x'.repeat(600) }],
      ])('rejects an entitlement key with %s', async (_, overrides) => {
        const error = await store
          .putEntitlement(anEntitlement(overrides), 0)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
      });

      it('rejects an oversized item and writes nothing', async () => {
        const entitlement = anEntitlement({
          snapshot: { updateTimeEpochMs: T0, data: { blob: 'x'.repeat(400 * 1024) } },
        });
        await expect(store.putEntitlement(entitlement, 0)).rejects.toBeInstanceOf(ValidationError);
        const decision = aDecision({ entitlement: { next: entitlement, expectedVersion: 0 } });
        await expect(store.applyDecision(decision)).rejects.toBeInstanceOf(ValidationError);
        expect(await store.getEvent('gcp', decision.event.eventId)).toBeNull();
        expect(await store.getEntitlement(entitlement)).toBeNull();
      });

      it('rejects a malformed event id and a malformed usage key', async () => {
        await expect(
          store.applyDecision(aDecision({ event: anEventRecord({ eventId: '' }) })),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.addUsage(ingest(aUsageKey({ dimension: '' }), [['u', 1]])),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.addUsage(ingest(aUsageKey({ hourStartEpochMs: HOUR + 1 }), [['u', 1]])),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(store.addUsage(ingest(aUsageKey(), [['u', -1]]))).rejects.toBeInstanceOf(
          ValidationError,
        );
      });
    });

    describe('listing', () => {
      it('pages through 1,000 entitlements of one account without loss or repeat', async () => {
        const accountId = `acct-${randomUUID()}`;
        const ids = Array.from(
          { length: 1_000 },
          (_, i) => `ent-${String(i).padStart(4, '0')}-${randomUUID()}`,
        );
        for (let i = 0; i < ids.length; i += 50) {
          await Promise.all(
            ids
              .slice(i, i + 50)
              .map((id) => store.putEntitlement(anEntitlement({ id, accountId }), 0)),
          );
        }
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await store.listEntitlements(
            { by: 'account', cloud: 'gcp', accountId },
            { limit: 150, cursor },
          );
          expect(page.items.length).toBeLessThanOrEqual(150);
          seen.push(...page.items.map((e) => e.id));
          cursor = page.nextCursor;
          pages += 1;
        } while (cursor !== null && pages < 50);
        expect(seen).toHaveLength(1_000);
        expect(new Set(seen).size).toBe(1_000);
        expect([...seen].sort()).toEqual([...ids].sort());
      });

      it('lists by tenant and by status', async () => {
        const tenantId = `tenant-${randomUUID()}`;
        const mine = [anEntitlement({ tenantId }), anEntitlement({ tenantId, cloud: 'aws' })];
        const suspended = anEntitlement({ status: 'suspended' });
        await Promise.all(
          [...mine, suspended, anEntitlement()].map((e) => store.putEntitlement(e, 0)),
        );
        const byTenant = await store.listEntitlements({ by: 'tenant', tenantId }, { limit: 10 });
        expect(byTenant.items.map((e) => e.id).sort()).toEqual(mine.map((e) => e.id).sort());
        expect(byTenant.nextCursor).toBeNull();
        const bySuspended = await store.listEntitlements(
          { by: 'status', status: 'suspended' },
          { limit: 1_000 },
        );
        expect(bySuspended.items.map((e) => e.id)).toContain(suspended.id);
        expect(bySuspended.items.every((e) => e.status === 'suspended')).toBe(true);
      });

      it('moves an entitlement between listings when its status or tenant changes', async () => {
        const tenantId = `tenant-${randomUUID()}`;
        const v1 = await store.putEntitlement(anEntitlement({ status: 'pending_approval' }), 0);
        await store.putEntitlement({ ...v1, status: 'pending_cancellation', tenantId }, 1);
        const pending = await store.listEntitlements(
          { by: 'status', status: 'pending_approval' },
          { limit: 1_000 },
        );
        expect(pending.items.map((e) => e.id)).not.toContain(v1.id);
        const byTenant = await store.listEntitlements({ by: 'tenant', tenantId }, { limit: 10 });
        expect(byTenant.items.map((e) => e.id)).toEqual([v1.id]);
      });

      it('rejects a forged cursor and a limit out of range', async () => {
        const query = { by: 'tenant', tenantId: 't' } as const;
        await expect(
          store.listEntitlements(query, { limit: 10, cursor: 'not-a-cursor' }),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(store.listEntitlements(query, { limit: 0 })).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(store.listEntitlements(query, { limit: 1_001 })).rejects.toBeInstanceOf(
          ValidationError,
        );
      });
    });

    describe('usage ledger', () => {
      it('adds quantities to an hour and answers with the total', async () => {
        const key = aUsageKey();
        const first = await store.addUsage(
          ingest(key, [
            ['u1', 3],
            ['u2', 4],
          ]),
        );
        expect(first).toEqual({ accepted: ['u1', 'u2'].map(String), duplicates: [], quantity: 7 });
        const hour = await store.getUsageHour(key);
        expect(hour).toMatchObject({
          ...key,
          quantity: 7,
          state: 'open',
          sealedAtEpochMs: null,
          answer: null,
        });
      });

      it('is idempotent by usage id, across calls and within one', async () => {
        const key = aUsageKey();
        const u = `usage-${randomUUID()}`;
        await store.addUsage(ingest(key, [[u, 5]]));
        const again = await store.addUsage(
          ingest(key, [
            [u, 5],
            [`${u}-b`, 1],
            [`${u}-b`, 1],
          ]),
        );
        expect(again.duplicates).toEqual([u, `${u}-b`]);
        expect(again.accepted).toEqual([`${u}-b`]);
        expect((await store.getUsageHour(key))?.quantity).toBe(6);
      });

      it('counts a usage id once whatever hour or entitlement it comes with', async () => {
        const u = `global-${randomUUID()}`;
        const key = aUsageKey();
        await store.addUsage(ingest(key, [[u, 4]]));
        const elsewhere = aUsageKey({ hourStartEpochMs: HOUR - HOUR_MS });
        const again = await store.addUsage(ingest(elsewhere, [[u, 4]]));
        expect(again.duplicates).toEqual([u]);
        expect(await store.getUsageHour(elsewhere)).toBeNull();
        expect((await store.getUsageHour(key))?.quantity).toBe(4);
      });

      it('never lets an hour pass the most a marketplace takes, refusing the record that would', async () => {
        const key = aUsageKey();
        const u = `full-${randomUUID()}`;
        await store.addUsage(ingest(key, [[`${u}-a`, MAX_USAGE_QUANTITY - 10]]));
        const error = await store
          .addUsage(
            ingest(key, [
              [`${u}-b`, 4],
              [`${u}-c`, 7],
              [`${u}-d`, 1],
            ]),
          )
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UsageHourTotalTooLargeError);
        expect((error as UsageHourTotalTooLargeError).path).toMatch(/records\[1\]$/);
        expect((await store.getUsageHour(key))?.quantity).toBe(MAX_USAGE_QUANTITY - 10);
        // Without it, the others fit, up to the very limit.
        const rest = await store.addUsage(
          ingest(key, [
            [`${u}-b`, 4],
            [`${u}-d`, 1],
            [`${u}-e`, 5],
          ]),
        );
        expect(rest).toMatchObject({ accepted: [`${u}-b`, `${u}-d`, `${u}-e`] });
        expect((await store.getUsageHour(key))?.quantity).toBe(MAX_USAGE_QUANTITY);
        // A full hour still answers a retry of what it counted, and takes zeros.
        const retry = await store.addUsage(
          ingest(key, [
            [`${u}-a`, MAX_USAGE_QUANTITY - 10],
            [`${u}-zero`, 0],
          ]),
        );
        expect(retry).toMatchObject({ accepted: [`${u}-zero`], duplicates: [`${u}-a`] });
        await expect(store.addUsage(ingest(key, [[`${u}-f`, 1]]))).rejects.toBeInstanceOf(
          UsageHourTotalTooLargeError,
        );
        expect((await store.getUsageHour(key))?.quantity).toBe(MAX_USAGE_QUANTITY);
      });

      it('tells which usage ids it counted, in which hour and how much', async () => {
        const key = aUsageKey();
        const u = `found-${randomUUID()}`;
        await store.addUsage(
          tagged(key, [
            [`${u}-a`, 3, undefined],
            [`${u}-b`, 2, { team: 'a' }],
          ]),
        );
        const found = await store.findCountedUsage([`${u}-a`, `${u}-b`, `${u}-never`, `${u}-a`]);
        expect(Object.fromEntries(found)).toEqual({
          [`${u}-a`]: { usageId: `${u}-a`, quantity: 3, hour: key },
          [`${u}-b`]: { usageId: `${u}-b`, quantity: 2, hour: key },
        });
        expect((await store.findCountedUsage([])).size).toBe(0);
        const many = Array.from({ length: 250 }, (_, i) => `${u}-many-${i}`);
        await store.addUsage(
          ingest(
            key,
            many.map((id): [string, number] => [id, 1]),
          ),
        );
        expect((await store.findCountedUsage(many)).size).toBe(250);
        await expect(store.findCountedUsage([' padded'])).rejects.toBeInstanceOf(ValidationError);
      });

      it('stamps the hour with the time of the add', async () => {
        const key = aUsageKey();
        await store.addUsage({ ...ingest(key, [[`t-${randomUUID()}`, 1]]), nowEpochMs: T0 + 42 });
        expect((await store.getUsageHour(key))?.updatedAtEpochMs).toBe(T0 + 42);
      });

      it('answers a retry of counted usage ids after the hour was sealed', async () => {
        const key = aUsageKey();
        const u = `sealed-retry-${randomUUID()}`;
        await store.addUsage(ingest(key, [[u, 2]]));
        await store.sealUsageHour(key, T0);
        const retry = await store.addUsage(ingest(key, [[u, 2]]));
        expect(retry).toMatchObject({ accepted: [], duplicates: [u] });
        expect((await store.getUsageHour(key))?.quantity).toBe(2);
      });

      it('sums 50 concurrent adds exactly', async () => {
        const key = aUsageKey();
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.addUsage(ingest(key, [[`c-${i}-${randomUUID()}`, i + 1]])),
          ),
        );
        expect((await store.getUsageHour(key))?.quantity).toBe((50 * 51) / 2);
      });

      it('counts each of 20 concurrent retries of one usage id once', async () => {
        const key = aUsageKey();
        const u = `retry-${randomUUID()}`;
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.addUsage(ingest(key, [[u, 9]]))),
        );
        expect(results.filter((r) => r.accepted.length === 1)).toHaveLength(1);
        expect((await store.getUsageHour(key))?.quantity).toBe(9);
      });

      it('takes batches of more than one transaction can hold', async () => {
        const key = aUsageKey();
        const records = Array.from({ length: 250 }, (_, i): [string, number] => [
          `b-${i}-${randomUUID()}`,
          2,
        ]);
        const result = await store.addUsage(ingest(key, records));
        expect(result.accepted).toHaveLength(250);
        expect(result.quantity).toBe(500);
      });

      it('seals an hour, refuses later adds, and records the answer', async () => {
        const key = aUsageKey();
        await store.addUsage(ingest(key, [[`s-${randomUUID()}`, 11]]));
        const sealed = await store.sealUsageHour(key, T0);
        expect(sealed).toMatchObject({ quantity: 11, state: 'sealed', sealedAtEpochMs: T0 });
        expect(await store.sealUsageHour(key, T0 + 5)).toEqual(sealed);
        await expect(
          store.addUsage(ingest(key, [[`late-${randomUUID()}`, 1]])),
        ).rejects.toBeInstanceOf(UsageHourSealedError);
        const answer = {
          status: 'Success',
          meteringRecordId: 'mr-1',
          reason: null,
          atEpochMs: T0 + 10,
        };
        const sent = await store.markUsageHour(key, 'sent', answer);
        expect(sent).toMatchObject({ quantity: 11, state: 'sent', answer });
        expect(await store.getUsageHour(key)).toEqual(sent);
      });

      it('refuses to seal or mark an hour with no usage and to mark an hour not sealed', async () => {
        await expect(store.sealUsageHour(aUsageKey(), T0)).rejects.toBeInstanceOf(NotFoundError);
        const none = { status: 'Success', meteringRecordId: null, reason: null, atEpochMs: T0 };
        await expect(store.markUsageHour(aUsageKey(), 'sent', none)).rejects.toBeInstanceOf(
          NotFoundError,
        );
        const key = aUsageKey();
        await store.addUsage(ingest(key, [[`o-${randomUUID()}`, 1]]));
        const answer = { status: 'Success', meteringRecordId: null, reason: null, atEpochMs: T0 };
        await expect(store.markUsageHour(key, 'sent', answer)).rejects.toBeInstanceOf(
          ConcurrencyConflictError,
        );
      });

      describe('marking an hour with its news', () => {
        const refused = {
          status: 'Rejected',
          meteringRecordId: null,
          reason: 'TimestampOutOfBoundsException: too old',
          atEpochMs: T0 + 10,
        };
        /** A sealed hour and the news of its rejection: an event record and one outbox row. */
        const sealedWithNews = async () => {
          const key = aUsageKey();
          await store.addUsage(ingest(key, [[`n-${randomUUID()}`, 6]]));
          await store.sealUsageHour(key, T0);
          const event = anEventRecord({
            cloud: key.cloud,
            eventId: `usage:${key.entitlementId}:${key.dimension}:${key.hourStartEpochMs}`,
            type: 'USAGE_REJECTED',
            entitlementId: key.entitlementId,
          });
          const news = {
            event,
            outbox: [
              anOutboxMessage({
                id: `${key.cloud}:${event.eventId}:0`,
                type: 'usage.rejected',
                cloud: key.cloud,
                entitlementId: key.entitlementId,
              }),
            ],
          };
          return { key, news, message: news.outbox[0]! };
        };

        it('writes the answer, the event record and the outbox row together', async () => {
          const { key, news, message } = await sealedWithNews();

          const marked = await store.markUsageHour(key, 'rejected', refused, news);

          expect(marked).toMatchObject({ state: 'rejected', quantity: 6, answer: refused });
          expect(await store.getUsageHour(key)).toEqual(marked);
          expect(await store.getEvent(key.cloud, news.event.eventId)).toEqual(news.event);
          expect(await store.getOutboxMessage(message.id)).toEqual(message);
        });

        it('writes nothing for an hour that is not sealed, so a second mark tells no one twice', async () => {
          const open = aUsageKey();
          await store.addUsage(ingest(open, [[`n-${randomUUID()}`, 1]]));
          const { news: openNews, message: openMessage } = await sealedWithNews();
          await expect(
            store.markUsageHour(open, 'rejected', refused, openNews),
          ).rejects.toBeInstanceOf(ConcurrencyConflictError);
          expect(await store.getEvent(open.cloud, openNews.event.eventId)).toBeNull();
          expect(await store.getOutboxMessage(openMessage.id)).toBeNull();

          const { key, news, message } = await sealedWithNews();
          await store.markUsageHour(key, 'rejected', refused, news);
          const again = { ...news, outbox: [{ ...message, id: `${message.id}-again` }] };
          const error = await store
            .markUsageHour(key, 'rejected', refused, again)
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ConcurrencyConflictError);
          expect((error as ConcurrencyConflictError<UsageHour>).current).toMatchObject({
            state: 'rejected',
          });
          expect(await store.getOutboxMessage(`${message.id}-again`)).toBeNull();
        });

        it('marks the hour without writing the news again once its event is recorded', async () => {
          const { key, news, message } = await sealedWithNews();
          expect(await store.applyDecision(aDecision({ event: news.event }))).toBe('applied');

          const marked = await store.markUsageHour(key, 'rejected', refused, news);

          expect(marked).toMatchObject({ state: 'rejected', answer: refused });
          expect(await store.getOutboxMessage(message.id)).toBeNull();
        });

        it('writes nothing, the hour left sealed, when any part of the write fails', async () => {
          const { key, news, message } = await sealedWithNews();
          // The outbox row exists already: the whole write is refused.
          await store.applyDecision(aDecision({ outbox: [message] }));
          await expect(store.markUsageHour(key, 'rejected', refused, news)).rejects.toBeInstanceOf(
            ValidationError,
          );
          expect((await store.getUsageHour(key))?.state).toBe('sealed');
          expect(await store.getEvent(key.cloud, news.event.eventId)).toBeNull();

          const invalid = { ...news, event: { ...news.event, eventId: '' } };
          await expect(
            store.markUsageHour(key, 'rejected', refused, invalid),
          ).rejects.toBeInstanceOf(ValidationError);
          expect((await store.getUsageHour(key))?.state).toBe('sealed');
        });
      });

      it('lists closed unsent hours oldest first, a page at a time', async () => {
        const entitlementId = `arn:aws:license-manager::1:license/l-${randomUUID()}`;
        const cloud = 'gcp' as const;
        const hours = [3, 2, 1, 0].map((back) => HOUR - back * HOUR_MS);
        for (const hourStartEpochMs of [...hours, HOUR + HOUR_MS]) {
          await store.addUsage(
            ingest(aUsageKey({ cloud, entitlementId, hourStartEpochMs }), [
              [`l-${randomUUID()}`, 1],
            ]),
          );
        }
        const sent = aUsageKey({ cloud, entitlementId, hourStartEpochMs: hours[1]! });
        await store.sealUsageHour(sent, T0);
        await store.markUsageHour(sent, 'sent', {
          status: 'Success',
          meteringRecordId: null,
          reason: null,
          atEpochMs: T0,
        });
        const sealedOnly = aUsageKey({ cloud, entitlementId, hourStartEpochMs: hours[2]! });
        await store.sealUsageHour(sealedOnly, T0);

        const mine: number[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listUnsentUsageHours(
            { cloud, beforeEpochMs: HOUR + HOUR_MS },
            { limit: 2, cursor },
          );
          mine.push(
            ...page.items
              .filter((h) => h.entitlementId === entitlementId)
              .map((h) => h.hourStartEpochMs),
          );
          cursor = page.nextCursor;
        } while (cursor !== null);
        // Sealed but unsent hours are listed: a crash between send and mark re-sends them.
        expect(mine).toEqual([hours[0], hours[2], hours[3]]);
      });
    });

    describe('usage allocations', () => {
      const id = (label: string) => `${label}-${randomUUID()}`;

      it('sums quantities per tag set, beside the total, in a stable order', async () => {
        const key = aUsageKey();
        await store.addUsage(
          tagged(key, [
            [id('a1'), 5, { team: 'a' }],
            [id('b1'), 3, { team: 'b' }],
          ]),
        );
        const result = await store.addUsage(tagged(key, [[id('a2'), 2, { team: 'a' }]]));
        expect(result.quantity).toBe(10);
        expect(await store.getUsageHour(key)).toMatchObject({
          quantity: 10,
          allocations: [
            { tags: { team: 'a' }, quantity: 7 },
            { tags: { team: 'b' }, quantity: 3 },
          ],
        });
      });

      it('takes tags whatever the order of their keys as one set', async () => {
        const key = aUsageKey();
        await store.addUsage(tagged(key, [[id('x'), 4, { env: 'prod', team: 'a/b c:d@e+f=g' }]]));
        await store.addUsage(tagged(key, [[id('y'), 6, { team: 'a/b c:d@e+f=g', env: 'prod' }]]));
        const hour = await store.getUsageHour(key);
        expect(hour?.allocations).toEqual([
          { tags: { env: 'prod', team: 'a/b c:d@e+f=g' }, quantity: 10 },
        ]);
      });

      it('has no allocations without tags, and an untagged share beside tags', async () => {
        const plain = aUsageKey();
        await store.addUsage(tagged(plain, [[id('p'), 5, undefined]]));
        expect((await store.getUsageHour(plain))?.allocations).toEqual([]);

        const mixed = aUsageKey();
        await store.addUsage(tagged(mixed, [[id('m1'), 5, undefined]]));
        await store.addUsage(
          tagged(mixed, [
            [id('m2'), 3, { team: 'a' }],
            [id('m3'), 2, undefined],
          ]),
        );
        expect(await store.getUsageHour(mixed)).toMatchObject({
          quantity: 10,
          allocations: [
            { tags: { team: 'a' }, quantity: 3 },
            { tags: {}, quantity: 7 },
          ],
        });

        // A zero without tags (the hourly zero rows) makes no untagged share.
        const zero = aUsageKey();
        await store.addUsage(
          tagged(zero, [
            [id('z1'), 0, undefined],
            [id('z2'), 4, { team: 'a' }],
          ]),
        );
        expect((await store.getUsageHour(zero))?.allocations).toEqual([
          { tags: { team: 'a' }, quantity: 4 },
        ]);
      });

      it('counts a duplicate usage id once, in the tag set it first came with', async () => {
        const key = aUsageKey();
        const u = id('dup');
        await store.addUsage(tagged(key, [[u, 5, { team: 'a' }]]));
        const again = await store.addUsage(
          tagged(key, [
            [u, 5, { team: 'b' }],
            [`${u}-2`, 1, { team: 'c' }],
            [`${u}-2`, 1, { team: 'd' }],
          ]),
        );
        expect(again).toEqual({ accepted: [`${u}-2`], duplicates: [u, `${u}-2`], quantity: 6 });
        expect((await store.getUsageHour(key))?.allocations).toEqual([
          { tags: { team: 'a' }, quantity: 5 },
          { tags: { team: 'c' }, quantity: 1 },
        ]);
      });

      it('keeps the allocations through sealing, listing and marking', async () => {
        const key = aUsageKey({ cloud: 'aws', hourStartEpochMs: HOUR - 5 * HOUR_MS });
        await store.addUsage(
          tagged(key, [
            [id('s1'), 2, { team: 'a' }],
            [id('s2'), 1, undefined],
          ]),
        );
        const allocations = [
          { tags: { team: 'a' }, quantity: 2 },
          { tags: {}, quantity: 1 },
        ];
        const sealed = await store.sealUsageHour(key, T0);
        expect(sealed.allocations).toEqual(allocations);
        await expect(
          store.addUsage(tagged(key, [[id('late'), 1, { team: 'a' }]])),
        ).rejects.toBeInstanceOf(UsageHourSealedError);
        const listed: UsageHour[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listUnsentUsageHours(
            { cloud: 'aws', beforeEpochMs: HOUR - 4 * HOUR_MS },
            { limit: 1_000, cursor },
          );
          listed.push(...page.items.filter((h) => h.entitlementId === key.entitlementId));
          cursor = page.nextCursor;
        } while (cursor !== null);
        expect(listed).toEqual([sealed]);
        const sent = await store.markUsageHour(key, 'sent', {
          status: 'Success',
          meteringRecordId: 'mr-2',
          reason: null,
          atEpochMs: T0 + 1,
        });
        expect(sent.allocations).toEqual(allocations);
        expect(await store.getUsageHour(key)).toEqual(sent);
      });

      contention('sums 50 concurrent tagged adds exactly, per tag set', async () => {
        const key = aUsageKey();
        const tagsOf = (i: number) => (i % 4 === 3 ? undefined : { team: `t${i % 4}` });
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.addUsage(tagged(key, [[id(`c${i}`), i + 1, tagsOf(i)]])),
          ),
        );
        const expected = [0, 1, 2, 3].map((set) =>
          Array.from({ length: 50 }, (_, i) => i)
            .filter((i) => i % 4 === set)
            .reduce((total, i) => total + i + 1, 0),
        );
        expect(await store.getUsageHour(key)).toMatchObject({
          quantity: (50 * 51) / 2,
          allocations: [
            { tags: { team: 't0' }, quantity: expected[0] },
            { tags: { team: 't1' }, quantity: expected[1] },
            { tags: { team: 't2' }, quantity: expected[2] },
            { tags: {}, quantity: expected[3] },
          ],
        });
      });

      it.each([
        ['no tags', {}],
        ['six tags', Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => [k, 'v']))],
        ['a 101-character key', { ['k'.repeat(101)]: 'v' }],
        ['a 257-character value', { k: 'v'.repeat(257) }],
        ['an empty value', { k: '' }],
        ['a key outside the pattern', { 'bad?key': 'v' }],
        ['a value outside the pattern', { k: 'é' }],
        ['a value that is not a string', { k: 7 }],
        ['a list', ['k', 'v']],
      ])('refuses %s and writes nothing', async (_, tags) => {
        const key = aUsageKey();
        const good = id('good');
        const error = await store
          .addUsage({
            ...tagged(key, [[good, 1, { team: 'a' }]]),
            records: [
              { usageId: good, quantity: 1, tags: { team: 'a' } },
              { usageId: id('bad'), quantity: 1, tags: tags as Record<string, string> },
            ],
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).path).toMatch(/records\[1\]\.tags/);
        expect(await store.getUsageHour(key)).toBeNull();
        // The good record's id was not spent.
        expect((await store.addUsage(tagged(key, [[good, 1, undefined]]))).accepted).toEqual([
          good,
        ]);
      });

      it('holds an hour to 2,500 tag sets, the untagged share included', async () => {
        const key = aUsageKey();
        const sets = (from: number, count: number) =>
          Array.from({ length: count }, (_, i): [string, number, Record<string, string>] => [
            id(`set${from + i}`),
            1,
            { n: String(from + i) },
          ]);
        // One call past the limit is refused before anything is written.
        const tooMany = await store.addUsage(tagged(key, sets(0, 2_501))).catch((e: unknown) => e);
        expect(tooMany).toBeInstanceOf(ValidationError);
        expect((tooMany as ValidationError).path).toMatch(/records\[2500\]\.tags/);
        expect(await store.getUsageHour(key)).toBeNull();

        await store.addUsage(tagged(key, sets(0, 2_000)));
        await store.addUsage(tagged(key, sets(2_000, 500)));
        const hour = await store.getUsageHour(key);
        expect(hour?.allocations).toHaveLength(2_500);
        expect(hour?.quantity).toBe(2_500);
        for (const extra of [
          tagged(key, sets(2_500, 1)),
          tagged(key, [[id('untagged'), 3, undefined]]),
        ]) {
          await expect(store.addUsage(extra)).rejects.toBeInstanceOf(ValidationError);
        }
        // Sets the hour holds still take usage, and so does an untagged zero.
        await store.addUsage(
          tagged(key, [
            [id('again'), 4, { n: '7' }],
            [id('zero'), 0, undefined],
          ]),
        );
        const after = await store.getUsageHour(key);
        expect(after?.quantity).toBe(2_504);
        expect(after?.allocations).toHaveLength(2_500);
      });

      it('refuses tag sets that would make the hour too large to store', async () => {
        const key = aUsageKey();
        const wide = (i: number) =>
          Object.fromEntries(
            ['a', 'b', 'c', 'd', 'e'].map((k) => [`${k}${i}`.padEnd(100, 'k'), 'v'.repeat(256)]),
          );
        const records = Array.from(
          { length: 300 },
          (_, i): [string, number, Record<string, string>] => [id(`wide${i}`), 1, wide(i)],
        );
        await expect(store.addUsage(tagged(key, records))).rejects.toBeInstanceOf(ValidationError);
        expect(await store.getUsageHour(key)).toBeNull();
      });
    });

    describe('outbox', () => {
      const written = async (count: number, at: number) => {
        const outbox = Array.from({ length: count }, (_, i) =>
          anOutboxMessage({ nextAttemptAtEpochMs: at + i, tenantId: `claim-${randomUUID()}` }),
        );
        await store.applyDecision(aDecision({ outbox }));
        return outbox;
      };

      it('claims due messages oldest first, hides them for the lease, and counts the attempt', async () => {
        const at = T0 - 10 * HOUR_MS - Math.floor(Math.random() * 1e6);
        const outbox = await written(3, at);
        const claimed = await store.claimOutbox({
          nowEpochMs: at + 2,
          limit: 1_000,
          leaseMs: 60_000,
        });
        const ours = claimed.filter((m) => outbox.some((o) => o.id === m.id));
        expect(ours.map((m) => m.id)).toEqual(outbox.map((m) => m.id));
        expect(
          ours.every((m) => m.attempts === 1 && m.nextAttemptAtEpochMs === at + 2 + 60_000),
        ).toBe(true);
        const again = await store.claimOutbox({
          nowEpochMs: at + 3,
          limit: 1_000,
          leaseMs: 60_000,
        });
        expect(again.filter((m) => outbox.some((o) => o.id === m.id))).toEqual([]);
      });

      it('retries at a time with the reason, and forgets an acked message from the due list', async () => {
        const at = T0 + 50 * HOUR_MS + Math.floor(Math.random() * 1e6);
        const [message] = await written(1, at);
        await store.retryOutboxAt(message!, at + 1_000, 'HTTP 500 from https://vendor.example');
        expect(await store.getOutboxMessage(message!.id)).toMatchObject({
          nextAttemptAtEpochMs: at + 1_000,
          lastError: 'HTTP 500 from https://vendor.example',
        });
        const claimed = await store.claimOutbox({
          nowEpochMs: at + 1_000,
          limit: 1_000,
          leaseMs: 10,
        });
        const mine = claimed.find((m) => m.id === message!.id);
        expect(mine).toBeDefined();
        await store.ackOutbox(mine!);
        const later = await store.claimOutbox({
          nowEpochMs: at + 10_000,
          limit: 1_000,
          leaseMs: 10,
        });
        expect(later.map((m) => m.id)).not.toContain(message!.id);
      });

      it('refuses to ack or retry an unknown message, and keeps an acked one delivered', async () => {
        const missing = () => ({ id: `missing-${randomUUID()}`, claimId: null });
        await expect(store.ackOutbox(missing())).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.retryOutboxAt(missing(), T0, 'x')).rejects.toBeInstanceOf(NotFoundError);
        const at = T0 + 70 * HOUR_MS + Math.floor(Math.random() * 1e6);
        const [message] = await written(1, at);
        await store.ackOutbox(message!);
        await store.retryOutboxAt(message!, at, 'lease ran out');
        const claimed = await store.claimOutbox({ nowEpochMs: at + 1, limit: 1_000, leaseMs: 10 });
        expect(claimed.map((m) => m.id)).not.toContain(message!.id);
      });

      contention('hands each due message to exactly one of 4 concurrent claimers', async () => {
        const at = T0 + 100 * HOUR_MS + Math.floor(Math.random() * 1e6);
        const outbox = await written(20, at);
        const claims = await Promise.all(
          Array.from({ length: 4 }, () =>
            store.claimOutbox({ nowEpochMs: at + 100, limit: 1_000, leaseMs: 60_000 }),
          ),
        );
        const ids = claims
          .flat()
          .map((m) => m.id)
          .filter((id) => outbox.some((o) => o.id === id));
        expect(ids.sort()).toEqual(outbox.map((o) => o.id).sort());
      });
    });

    /** Every item of a listing, a page of `limit` at a time, and how many pages it took. */
    const everyPage = async <T>(
      list: (cursor: string | null) => Promise<Page<T>>,
      limit: number,
    ): Promise<{ items: T[]; pages: number }> => {
      const items: T[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Page<T> = await list(cursor);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        items.push(...page.items);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 100);
      return { items, pages };
    };

    describe('outbox status, listings and replay', () => {
      /**
       * A time of its own for each test, years after the other outbox tests' times, so that
       * neither their claims nor their listings meet these messages.
       */
      const ownTime = () => Date.UTC(2031, 0, 1) + Math.floor(Math.random() * 1e12);

      /** The order of both listings: occurrence time, then id. */
      const byOccurrence = (a: OutboxMessage, b: OutboxMessage) =>
        a.occurredAtEpochMs - b.occurredAtEpochMs || (a.id < b.id ? -1 : 1);

      const write = async (...messages: OutboxMessage[]) => {
        await store.applyDecision(aDecision({ outbox: messages }));
        return messages;
      };

      const stored = async (id: string) => {
        const message = await store.getOutboxMessage(id);
        expect(message).not.toBeNull();
        return message!;
      };

      it('starts pending with no endpoints served', async () => {
        const [message] = await write(anOutboxMessage());
        expect(await stored(message!.id)).toMatchObject({ status: 'pending', deliveredTo: [] });
      });

      it('claims only the given ids that are pending and due, oldest first', async () => {
        const at = ownTime();
        const [first, second, later, acked, failed, other] = await write(
          anOutboxMessage({ nextAttemptAtEpochMs: at + 1 }),
          anOutboxMessage({ nextAttemptAtEpochMs: at + 2 }),
          anOutboxMessage({ nextAttemptAtEpochMs: at + 1_000 }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
        );
        await store.ackOutbox(acked!);
        await store.failOutbox(failed!, 'gave up');
        const ids = [later, second, acked, failed, first, second].map((m) => m!.id);
        ids.push(`missing-${randomUUID()}`);

        const one = await store.claimOutbox({ nowEpochMs: at + 10, limit: 1, leaseMs: 5_000, ids });
        expect(one.map((m) => m.id)).toEqual([first!.id]);
        const rest = await store.claimOutbox({
          nowEpochMs: at + 10,
          limit: 100,
          leaseMs: 5_000,
          ids,
        });
        expect(rest.map((m) => m.id)).toEqual([second!.id]);
        expect(rest[0]).toMatchObject({ attempts: 1, nextAttemptAtEpochMs: at + 5_010 });
        // Not named, so not claimed, though due.
        expect(await stored(other!.id)).toMatchObject({ attempts: 0, nextAttemptAtEpochMs: at });
        expect(
          await store.claimOutbox({ nowEpochMs: at + 10, limit: 100, leaseMs: 5_000, ids: [] }),
        ).toEqual([]);
      });

      it('lists the pending messages of an ordering key oldest first, a page at a time', async () => {
        const at = ownTime();
        const entitlementId = `ent-${randomUUID()}`;
        const ofKey = (occurredAtEpochMs: number, id = `out-${randomUUID()}`) =>
          anOutboxMessage({ id, entitlementId, occurredAtEpochMs, nextAttemptAtEpochMs: at });
        const messages = await write(
          ofKey(at + 5),
          ofKey(at + 1),
          ofKey(at + 3, `out-b-${randomUUID()}`),
          ofKey(at + 3, `out-a-${randomUUID()}`),
          ofKey(at + 2),
          ofKey(at + 4),
          ofKey(at + 6),
        );
        // Another entitlement, the same account without an entitlement, another cloud.
        await write(
          anOutboxMessage({ entitlementId: `ent-${randomUUID()}`, occurredAtEpochMs: at }),
          anOutboxMessage({ entitlementId: null, occurredAtEpochMs: at }),
          anOutboxMessage({ cloud: 'aws', entitlementId, occurredAtEpochMs: at }),
        );
        const [, , , , delivered, failed] = messages;
        await store.ackOutbox(delivered!);
        await store.failOutbox(failed!, 'gave up');
        const orderingKey = outboxOrderingKey(messages[0]!);
        expect(orderingKey).toBe(`gcp:entitlement:${entitlementId}`);

        const { items, pages } = await everyPage(
          (cursor) => store.listOutbox({ by: 'ordering', orderingKey }, { limit: 2, cursor }),
          2,
        );
        const pending = messages.filter((m) => m !== delivered && m !== failed).sort(byOccurrence);
        expect(items.map((m) => m.id)).toEqual(pending.map((m) => m.id));
        expect(items.every((m) => m.status === 'pending')).toBe(true);
        expect(pages).toBeGreaterThanOrEqual(3);

        // A replayed message is pending again, in its place by occurrence.
        await store.replayOutbox(failed!.id, at);
        const again = await store.listOutbox({ by: 'ordering', orderingKey }, { limit: 100 });
        expect(again.items.map((m) => m.id)).toEqual(
          [...pending, failed!].sort(byOccurrence).map((m) => m.id),
        );

        const byAccount = outboxOrderingKey({ ...messages[0]!, entitlementId: null });
        expect(byAccount).toBe(`gcp:account:${messages[0]!.accountId}`);
        const alone = anOutboxMessage({ accountId: null, entitlementId: null });
        await write(alone);
        const single = await store.listOutbox(
          { by: 'ordering', orderingKey: outboxOrderingKey(alone) },
          { limit: 10 },
        );
        expect(single).toEqual({ items: [await stored(alone.id)], nextCursor: null });
      });

      it('lists every message by time in [from, to), whatever its status, a page at a time', async () => {
        const from = ownTime();
        const to = from + 5;
        const at = (occurredAtEpochMs: number, id = `out-${randomUUID()}`) =>
          anOutboxMessage({ id, occurredAtEpochMs, nextAttemptAtEpochMs: from });
        const before = at(from - 1);
        const inside = [
          at(from + 4),
          at(from),
          at(from + 2, `out-b-${randomUUID()}`),
          at(from + 2, `out-a-${randomUUID()}`),
          at(from + 1),
        ];
        const after = at(to);
        await write(before, ...inside, after);
        await store.ackOutbox(inside[0]!);
        await store.failOutbox(inside[1]!, 'gave up', ['endpoint-a']);

        const { items, pages } = await everyPage(
          (cursor) =>
            store.listOutbox(
              { by: 'time', fromEpochMs: from, toEpochMs: to },
              { limit: 2, cursor },
            ),
          2,
        );
        const expected = [...inside].sort(byOccurrence);
        expect(items.map((m) => m.id)).toEqual(expected.map((m) => m.id));
        expect(pages).toBeGreaterThanOrEqual(3);
        const statusOf = (id: string) => items.find((m) => m.id === id)?.status;
        expect(statusOf(inside[0]!.id)).toBe('delivered');
        expect(statusOf(inside[1]!.id)).toBe('failed');
        expect(statusOf(inside[2]!.id)).toBe('pending');
        expect(items.find((m) => m.id === inside[1]!.id)).toEqual(await stored(inside[1]!.id));

        const exact = await store.listOutbox(
          { by: 'time', fromEpochMs: to, toEpochMs: to + 1 },
          { limit: 10 },
        );
        expect(exact.items.map((m) => m.id)).toEqual([after.id]);
        for (const [fromEpochMs, toEpochMs] of [
          [to, to],
          [to, from],
        ] as const) {
          expect(
            await store.listOutbox({ by: 'time', fromEpochMs, toEpochMs }, { limit: 10 }),
          ).toEqual({ items: [], nextCursor: null });
        }
      });

      it('adds the endpoints of each retry as a set, and leaves a delivered message as it is', async () => {
        const at = ownTime();
        const [message] = await write(anOutboxMessage({ nextAttemptAtEpochMs: at }));
        const id = message!.id;
        await store.retryOutboxAt(message!, at + 100, 'HTTP 500 from endpoint-c', [
          'endpoint-b',
          'endpoint-a',
        ]);
        await store.retryOutboxAt(message!, at + 200, 'timeout at endpoint-c', ['endpoint-b']);
        await store.retryOutboxAt(message!, at + 300, 'timeout at endpoint-c');
        const retried = await stored(id);
        expect(retried).toMatchObject({
          status: 'pending',
          nextAttemptAtEpochMs: at + 300,
          lastError: 'timeout at endpoint-c',
        });
        expect([...retried.deliveredTo].sort()).toEqual(['endpoint-a', 'endpoint-b']);

        await store.ackOutbox(message!);
        const delivered = await stored(id);
        expect(delivered.status).toBe('delivered');
        await store.retryOutboxAt(message!, at + 400, 'late report', ['endpoint-c']);
        expect(await stored(id)).toEqual(delivered);
        const claimed = await store.claimOutbox({
          nowEpochMs: at + 500,
          limit: 10,
          leaseMs: 10,
          ids: [id],
        });
        expect(claimed).toEqual([]);
      });

      it('fails a message: kept with its endpoints and reason, off the due and ordering lists', async () => {
        const at = ownTime();
        const [message] = await write(
          anOutboxMessage({ entitlementId: `ent-${randomUUID()}`, nextAttemptAtEpochMs: at }),
        );
        const id = message!.id;
        await store.retryOutboxAt(message!, at + 10, 'HTTP 503', ['endpoint-a']);
        await store.failOutbox(message!, 'retries ran out', ['endpoint-b']);
        const failed = await stored(id);
        expect(failed).toMatchObject({
          status: 'failed',
          lastError: 'retries ran out',
          nextAttemptAtEpochMs: at + 10,
        });
        expect([...failed.deliveredTo].sort()).toEqual(['endpoint-a', 'endpoint-b']);
        expect(
          await store.claimOutbox({ nowEpochMs: at + 20, limit: 10, leaseMs: 10, ids: [id] }),
        ).toEqual([]);
        const pending = await store.listOutbox(
          { by: 'ordering', orderingKey: outboxOrderingKey(message!) },
          { limit: 10 },
        );
        expect(pending.items).toEqual([]);
        // A late retry or a second failure changes nothing.
        await store.retryOutboxAt(message!, at + 30, 'late report', ['endpoint-c']);
        await store.failOutbox(message!, 'failed again', ['endpoint-d']);
        expect(await stored(id)).toEqual(failed);
      });

      it('keeps an acked message delivered when it fails later, and a failed one failed', async () => {
        const at = ownTime();
        const [acked, failed] = await write(
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
        );
        await store.ackOutbox(acked!);
        const delivered = await stored(acked!.id);
        await store.failOutbox(acked!, 'late give-up', ['endpoint-a']);
        expect(await stored(acked!.id)).toEqual(delivered);

        await store.failOutbox(failed!, 'retries ran out');
        const given = await stored(failed!.id);
        await store.ackOutbox(failed!);
        expect(await stored(failed!.id)).toEqual(given);
        expect(
          await store.claimOutbox({
            nowEpochMs: at + 1,
            limit: 10,
            leaseMs: 10,
            ids: [acked!.id, failed!.id],
          }),
        ).toEqual([]);
      });

      it('puts each claim under a claim id of its own, which a replay clears', async () => {
        const at = ownTime();
        const [message] = await write(anOutboxMessage({ nextAttemptAtEpochMs: at }));
        const claim = { limit: 10, leaseMs: 10, ids: [message!.id] };
        const [first] = await store.claimOutbox({ ...claim, nowEpochMs: at });
        expect(first!.claimId).toEqual(expect.any(String));
        expect(await stored(message!.id)).toEqual(first);
        // The lease ran out: another claim takes it over.
        const [second] = await store.claimOutbox({ ...claim, nowEpochMs: at + 10 });
        expect(second!.claimId).toEqual(expect.any(String));
        expect(second!.claimId).not.toBe(first!.claimId);
        expect((await store.replayOutbox(message!.id, at + 20)).claimId).toBeNull();
      });

      it('ignores what a claimer reports once another claim took the message over', async () => {
        const at = ownTime();
        const [message] = await write(anOutboxMessage({ nextAttemptAtEpochMs: at }));
        const claim = { limit: 10, leaseMs: 10, ids: [message!.id] };
        const [late] = await store.claimOutbox({ ...claim, nowEpochMs: at });
        const [current] = await store.claimOutbox({ ...claim, nowEpochMs: at + 10 });
        const before = await stored(message!.id);

        await store.retryOutboxAt(late!, at + 1_000, 'late retry', ['endpoint-a']);
        await store.failOutbox(late!, 'late give-up', ['endpoint-a']);
        await store.ackOutbox(late!);
        expect(await stored(message!.id)).toEqual(before);

        // The current claim's report holds, and ends the claim: a repeat changes nothing.
        await store.retryOutboxAt(current!, at + 1_000, 'HTTP 503', ['endpoint-b']);
        const retried = await stored(message!.id);
        expect(retried).toMatchObject({
          status: 'pending',
          nextAttemptAtEpochMs: at + 1_000,
          lastError: 'HTTP 503',
          deliveredTo: ['endpoint-b'],
          claimId: null,
        });
        await store.ackOutbox(current!);
        expect(await stored(message!.id)).toEqual(retried);
      });

      it('defers a claimed message with its attempt given back and its last error kept', async () => {
        const at = ownTime();
        const [message] = await write(anOutboxMessage({ nextAttemptAtEpochMs: at }));
        const claim = { limit: 10, leaseMs: 10, ids: [message!.id] };
        const [first] = await store.claimOutbox({ ...claim, nowEpochMs: at });
        await store.retryOutboxAt(first!, at + 100, 'HTTP 503', ['endpoint-a']);
        const [second] = await store.claimOutbox({ ...claim, nowEpochMs: at + 100 });
        expect(second!.attempts).toBe(2);

        await store.deferOutbox(second!, at + 200, ['endpoint-b']);
        const deferred = await stored(message!.id);
        expect(deferred).toMatchObject({
          status: 'pending',
          attempts: 1,
          nextAttemptAtEpochMs: at + 200,
          lastError: 'HTTP 503',
          claimId: null,
        });
        expect([...deferred.deliveredTo].sort()).toEqual(['endpoint-a', 'endpoint-b']);
        // The report ended the claim: a repeat gives back nothing more.
        await store.deferOutbox(second!, at + 300);
        expect(await stored(message!.id)).toEqual(deferred);

        expect(await store.claimOutbox({ ...claim, nowEpochMs: at + 199 })).toEqual([]);
        const [third] = await store.claimOutbox({ ...claim, nowEpochMs: at + 200 });
        expect(third!.attempts).toBe(2);
        await expect(
          store.deferOutbox({ id: `missing-${randomUUID()}`, claimId: 'claim-1' }, at),
        ).rejects.toBeInstanceOf(NotFoundError);
      });

      it('keeps a replay made while a claimer is at work from what that claimer reports', async () => {
        const at = ownTime();
        const [failing, acking, retrying] = await write(
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
        );
        const claimed = await store.claimOutbox({
          nowEpochMs: at,
          limit: 10,
          leaseMs: 60_000,
          ids: [failing!.id, acking!.id, retrying!.id],
        });
        const leaseOf = (id: string) => claimed.find((m) => m.id === id)!;
        const replayed = new Map<string, OutboxMessage>();
        for (const message of claimed) {
          replayed.set(message.id, await store.replayOutbox(message.id, at + 5));
        }

        await store.failOutbox(leaseOf(failing!.id), 'horizon passed', ['endpoint-a']);
        await store.ackOutbox(leaseOf(acking!.id));
        await store.retryOutboxAt(leaseOf(retrying!.id), at + 30_000, 'HTTP 500', ['endpoint-a']);

        for (const message of claimed) {
          expect(await stored(message.id)).toEqual(replayed.get(message.id));
        }
        // Each is due again, for a delivery of its own.
        const again = await store.claimOutbox({
          nowEpochMs: at + 5,
          limit: 10,
          leaseMs: 10,
          ids: claimed.map((m) => m.id),
        });
        expect(again.map((m) => m.id).sort()).toEqual(claimed.map((m) => m.id).sort());
      });

      it('replays a message whatever its status, as new and due now', async () => {
        const at = ownTime();
        const [delivered, failed] = await write(
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
          anOutboxMessage({ nextAttemptAtEpochMs: at }),
        );
        const [first] = await store.claimOutbox({
          nowEpochMs: at,
          limit: 10,
          leaseMs: 10,
          ids: [delivered!.id],
        });
        await store.retryOutboxAt(first!, at + 10, 'HTTP 500', ['endpoint-a']);
        const [second] = await store.claimOutbox({
          nowEpochMs: at + 10,
          limit: 10,
          leaseMs: 10,
          ids: [delivered!.id],
        });
        await store.ackOutbox(second!);
        await store.failOutbox(failed!, 'retries ran out', ['endpoint-a']);

        for (const message of [delivered!, failed!]) {
          const before = await stored(message.id);
          const now = at + 1_000;
          const replayed = await store.replayOutbox(message.id, now);
          expect(replayed).toEqual({
            ...before,
            status: 'pending',
            nextAttemptAtEpochMs: now,
            attempts: 0,
            deliveredTo: [],
            lastError: null,
            replayedAtEpochMs: now,
          });
          expect(await stored(message.id)).toEqual(replayed);
          const claimed = await store.claimOutbox({
            nowEpochMs: now,
            limit: 10,
            leaseMs: 10,
            ids: [message.id],
          });
          expect(claimed).toEqual([
            {
              ...replayed,
              attempts: 1,
              nextAttemptAtEpochMs: now + 10,
              claimId: expect.any(String),
            },
          ]);
        }
      });

      it('refuses to fail or replay an unknown message', async () => {
        const missing = { id: `missing-${randomUUID()}`, claimId: null };
        await expect(store.failOutbox(missing, 'x')).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.replayOutbox(`missing-${randomUUID()}`, T0)).rejects.toBeInstanceOf(
          NotFoundError,
        );
      });

      it('validates listings, claims and reports before any read or write', async () => {
        // Thunks, so that each refusal is awaited as it happens.
        const invalid = [
          () => store.listOutbox({ by: 'ordering', orderingKey: 'not-a-key' }, { limit: 10 }),
          () =>
            store.listOutbox({ by: 'ordering', orderingKey: 'gcp:entitlement:' }, { limit: 10 }),
          () => store.listOutbox({ by: 'time', fromEpochMs: -1, toEpochMs: 10 }, { limit: 10 }),
          () => store.listOutbox({ by: 'time', fromEpochMs: 0, toEpochMs: 10 }, { limit: 0 }),
          () => store.listOutbox({ by: 'nothing' } as unknown as OutboxQuery, { limit: 10 }),
          () => store.claimOutbox({ nowEpochMs: T0, limit: 10, leaseMs: 10, ids: [''] }),
          () =>
            store.claimOutbox({
              nowEpochMs: T0,
              limit: 10,
              leaseMs: 10,
              ids: 'out-1' as unknown as string[],
            }),
          () => store.retryOutboxAt({ id: 'out-1', claimId: null }, T0, 'x', ['']),
          () => store.failOutbox({ id: 'out-1', claimId: null }, 'x', [' spaced ']),
          () => store.failOutbox({ id: '', claimId: null }, 'x'),
          () => store.ackOutbox({ id: 'out-1', claimId: '' }),
          // Only a claim counted an attempt to give back.
          () => store.deferOutbox({ id: 'out-1', claimId: null }, T0),
          () => store.deferOutbox({ id: 'out-1', claimId: 'claim-1' }, -1),
          () => store.ackOutbox('out-1' as unknown as OutboxLease),
          () => store.replayOutbox('out-1', -5),
        ];
        for (const call of invalid) await expect(call()).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('delivery log', () => {
      it('keeps each entry once, oldest first, a page at a time', async () => {
        const messageId = `out-${randomUUID()}`;
        const entries = [
          aDeliveryAttempt({ messageId, atEpochMs: T0 + 3_000, attempt: 2, endpointId: 'a' }),
          aDeliveryAttempt({
            messageId,
            atEpochMs: T0,
            endpointId: 'a',
            outcome: 'failed',
            statusCode: null,
            error: 'connection refused',
          }),
          aDeliveryAttempt({ messageId, atEpochMs: T0 + 1_000, endpointId: 'b#/x' }),
          aDeliveryAttempt({
            messageId,
            atEpochMs: T0 + 2_000,
            attempt: 2,
            endpointId: 'b',
            outcome: 'failed',
            statusCode: 503,
            error: 'HTTP 503',
          }),
          aDeliveryAttempt({ messageId, atEpochMs: T0 + 4_000, attempt: 3, endpointId: 'b' }),
        ];
        for (const entry of entries) await store.recordDeliveryAttempt(entry);
        // The same entry again, as a retried write would send it.
        await store.recordDeliveryAttempt(entries[1]!);
        await store.recordDeliveryAttempt(aDeliveryAttempt({ messageId: `out-${randomUUID()}` }));

        const { items, pages } = await everyPage(
          (cursor) => store.listDeliveryAttempts(messageId, { limit: 2, cursor }),
          2,
        );
        expect(items).toEqual([...entries].sort((a, b) => a.atEpochMs - b.atEpochMs));
        expect(pages).toBeGreaterThanOrEqual(3);
        expect(await store.listDeliveryAttempts(`out-${randomUUID()}`, { limit: 10 })).toEqual({
          items: [],
          nextCursor: null,
        });
      });

      it('sits beside the message without changing it', async () => {
        const message = anOutboxMessage();
        await store.applyDecision(aDecision({ outbox: [message] }));
        await store.recordDeliveryAttempt(aDeliveryAttempt({ messageId: message.id }));
        expect(await store.getOutboxMessage(message.id)).toEqual(message);
        await store.ackOutbox(message);
        expect((await store.listDeliveryAttempts(message.id, { limit: 10 })).items).toHaveLength(1);
      });

      it.each([
        ['an empty endpoint id', { endpointId: '' }],
        ['an empty message id', { messageId: '' }],
        ['an unknown outcome', { outcome: 'maybe' }],
        ['a negative attempt', { attempt: -1 }],
        ['a fractional latency', { latencyMs: 1.5 }],
        ['a status code that is not a number', { statusCode: '200' }],
        ['an expiry that is not a number', { expiresAtEpochSeconds: 'soon' }],
      ])('refuses an entry with %s', async (_, overrides) => {
        const entry = aDeliveryAttempt(overrides as Partial<DeliveryAttempt>);
        await expect(store.recordDeliveryAttempt(entry)).rejects.toBeInstanceOf(ValidationError);
        if (entry.messageId !== '') {
          expect((await store.listDeliveryAttempts(entry.messageId, { limit: 10 })).items).toEqual(
            [],
          );
        }
      });
    });

    describe('accounts by tenant', () => {
      it('lists the accounts of a tenant across clouds in a stable order, apart from its entitlements', async () => {
        const tenantId = `tenant-${randomUUID()}`;
        const tenant = { tenantId, linkedAtEpochMs: T0 };
        const accounts = [
          anAccount({ cloud: 'gcp', id: `acct-b-${randomUUID()}`, tenant }),
          anAccount({ cloud: 'aws', id: `acct-${randomUUID()}`, tenant }),
          anAccount({ cloud: 'gcp', id: `acct-a-${randomUUID()}`, tenant }),
        ];
        const others = [
          anAccount({ tenant: { tenantId: `${tenantId}-other`, linkedAtEpochMs: T0 } }),
          anAccount(),
        ];
        const entitlements = [
          anEntitlement({ tenantId }),
          anEntitlement({ tenantId, cloud: 'aws' }),
        ];
        await Promise.all([
          ...[...accounts, ...others].map((a) => store.putAccount(a, 0)),
          ...entitlements.map((e) => store.putEntitlement(e, 0)),
        ]);

        const { items, pages } = await everyPage(
          (cursor) => store.listAccounts({ by: 'tenant', tenantId }, { limit: 1, cursor }),
          1,
        );
        const order = (a: { cloud: string; id: string }, b: { cloud: string; id: string }) =>
          a.cloud < b.cloud ? -1 : a.cloud > b.cloud ? 1 : a.id < b.id ? -1 : 1;
        expect(items).toEqual(
          [...accounts].sort(order).map((account) => ({ ...account, version: 1 })),
        );
        expect(pages).toBeGreaterThanOrEqual(3);

        const byTenant = await store.listEntitlements({ by: 'tenant', tenantId }, { limit: 10 });
        expect(byTenant.items.map((e) => e.id).sort()).toEqual(
          entitlements.map((e) => e.id).sort(),
        );
        expect(byTenant.nextCursor).toBeNull();
      });

      it('drops an account from the listing of its tenant when the link goes', async () => {
        const tenantId = `tenant-${randomUUID()}`;
        const v1 = await store.putAccount(
          anAccount({ tenant: { tenantId, linkedAtEpochMs: T0 } }),
          0,
        );
        expect((await store.listAccounts({ by: 'tenant', tenantId }, { limit: 10 })).items).toEqual(
          [v1],
        );
        await store.putAccount({ ...v1, tenant: null }, 1);
        expect(await store.listAccounts({ by: 'tenant', tenantId }, { limit: 10 })).toEqual({
          items: [],
          nextCursor: null,
        });
      });

      it('refuses a cursor of one tenant listing in the other, and a malformed query', async () => {
        const tenantId = `tenant-${randomUUID()}`;
        const tenant = { tenantId, linkedAtEpochMs: T0 };
        await Promise.all([
          ...[1, 2].map(() => store.putAccount(anAccount({ tenant }), 0)),
          ...[1, 2].map(() => store.putEntitlement(anEntitlement({ tenantId }), 0)),
        ]);
        const accounts = await store.listAccounts({ by: 'tenant', tenantId }, { limit: 1 });
        const entitlements = await store.listEntitlements({ by: 'tenant', tenantId }, { limit: 1 });
        expect(accounts.nextCursor).not.toBeNull();
        expect(entitlements.nextCursor).not.toBeNull();
        await expect(
          store.listEntitlements(
            { by: 'tenant', tenantId },
            { limit: 1, cursor: accounts.nextCursor },
          ),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.listAccounts(
            { by: 'tenant', tenantId },
            { limit: 1, cursor: entitlements.nextCursor },
          ),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.listAccounts({ by: 'tenant', tenantId: '' }, { limit: 1 }),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.listAccounts({ by: 'account' } as unknown as { by: 'tenant'; tenantId: string }, {
            limit: 1,
          }),
        ).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('usage hours by entitlement', () => {
      it('lists the hours of one entitlement in [from, to), by hour then dimension, a page at a time', async () => {
        const entitlementId = `arn:aws:license-manager::1:license/l-${randomUUID()}`;
        const hours = [4, 3, 2, 1, 0].map((back) => HOUR - back * HOUR_MS);
        const keys = hours.flatMap((hourStartEpochMs, index) =>
          (index % 2 === 0 ? ['storage', 'requests'] : ['requests']).map((dimension) =>
            aUsageKey({ entitlementId, dimension, hourStartEpochMs }),
          ),
        );
        for (const key of keys) await store.addUsage(ingest(key, [[`h-${randomUUID()}`, 1]]));
        // Another entitlement, and the same id on the other cloud.
        await store.addUsage(
          ingest(aUsageKey({ hourStartEpochMs: hours[2]! }), [[`x-${randomUUID()}`, 1]]),
        );
        await store.addUsage(
          ingest(aUsageKey({ cloud: 'gcp', entitlementId, hourStartEpochMs: hours[2]! }), [
            [`x-${randomUUID()}`, 1],
          ]),
        );
        // Whatever their state.
        const sealed = keys.find((k) => k.hourStartEpochMs === hours[1])!;
        await store.sealUsageHour(sealed, T0);
        const sent = keys.find((k) => k.hourStartEpochMs === hours[2])!;
        await store.sealUsageHour(sent, T0);
        await store.markUsageHour(sent, 'sent', {
          status: 'Success',
          meteringRecordId: 'mr-1',
          reason: null,
          atEpochMs: T0,
        });

        const list = async (fromEpochMs: number, toEpochMs: number, limit: number) =>
          everyPage(
            (cursor) =>
              store.listUsageHours(
                { cloud: 'aws', entitlementId, fromEpochMs, toEpochMs },
                { limit, cursor },
              ),
            limit,
          );
        const expected = (from: number, to: number) =>
          keys
            .filter((k) => k.hourStartEpochMs >= from && k.hourStartEpochMs < to)
            .sort(
              (a, b) =>
                a.hourStartEpochMs - b.hourStartEpochMs || (a.dimension < b.dimension ? -1 : 1),
            )
            .map((k) => [k.hourStartEpochMs, k.dimension]);
        const shape = (items: UsageHour[]) => items.map((h) => [h.hourStartEpochMs, h.dimension]);

        const all = await list(0, HOUR + HOUR_MS, 2);
        expect(shape(all.items)).toEqual(expected(0, Infinity));
        expect(all.items).toHaveLength(8);
        // A page that ends a listing exactly may be followed by an empty one.
        expect(all.pages).toBeGreaterThanOrEqual(4);
        expect(all.items.map((h) => h.state)).toContain('sealed');
        expect(all.items.map((h) => h.state)).toContain('sent');
        expect(all.items.find((h) => h.state === 'sent')).toEqual(await store.getUsageHour(sent));

        // The bounds: the start is in, the end is out, and they need not be hour starts.
        const middle = await list(hours[1]!, hours[3]!, 1_000);
        expect(shape(middle.items)).toEqual(expected(hours[1]!, hours[3]!));
        expect(middle.pages).toBe(1);
        const unaligned = await list(hours[1]! - 1, hours[3]! + 1, 1);
        expect(shape(unaligned.items)).toEqual(expected(hours[1]!, hours[3]! + 1));
        const inside = await list(hours[1]! + 1, hours[2]!, 10);
        expect(inside.items).toEqual([]);
        expect((await list(hours[3]!, hours[3]!, 10)).items).toEqual([]);
      });

      it('refuses a malformed query', async () => {
        const query = {
          cloud: 'aws',
          entitlementId: 'e-1',
          fromEpochMs: 0,
          toEpochMs: HOUR,
        } as const;
        for (const bad of [
          { ...query, cloud: 'azure' },
          { ...query, entitlementId: '' },
          { ...query, fromEpochMs: -1 },
          { ...query, toEpochMs: 1.5 },
        ]) {
          await expect(
            store.listUsageHours(bad as unknown as UsageHourQuery, { limit: 10 }),
          ).rejects.toBeInstanceOf(ValidationError);
        }
      });
    });
  });
};
