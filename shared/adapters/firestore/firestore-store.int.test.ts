import { randomUUID } from 'node:crypto';
import { Timestamp } from '@google-cloud/firestore';
import type { Firestore } from '@google-cloud/firestore';
import { StoreUnavailableError, ValidationError } from '../../domain/errors';
import type { Store } from '../../ports/store';
import { outboxOrderingKey } from '../../domain/model';
import {
  aDecision,
  aDeliveryAttempt,
  anEntitlement,
  anEventRecord,
  anOutboxMessage,
  T0,
} from '../../test/builders';
import { describeStoreContract } from '../../test/store-contract';
import { firestoreEmulator, uniqueName } from '../../../test/engines/engines';
import { firestoreStoreUnderTest } from '../../../test/support/stores';
import {
  createFirestoreClient,
  createFirestoreStore,
  FIRESTORE_INDEXES,
  firestoreIndexes,
} from '.';

describeStoreContract('Firestore emulator', firestoreStoreUnderTest);

describe('Firestore store: adapter specifics', () => {
  const collectionPrefix = 'specifics_';
  let db: Firestore;
  let store: Store;

  beforeAll(() => {
    process.env.FIRESTORE_EMULATOR_HOST = firestoreEmulator().host;
    db = createFirestoreClient({ projectId: uniqueName('demo-firestore-specifics') });
    store = createFirestoreStore(db, { collectionPrefix });
  });
  afterAll(async () => db?.terminate());

  it('stores the event expiry as a Timestamp for the TTL policy, and gives seconds back', async () => {
    const event = anEventRecord({ cloud: 'aws', eventId: `sqs/${randomUUID()}` });
    await store.applyDecision(aDecision({ event }));
    const [raw] = (
      await db.collection(`${collectionPrefix}events`).where('eventId', '==', event.eventId).get()
    ).docs;
    expect(raw?.get('expiresAt')).toBeInstanceOf(Timestamp);
    expect((raw?.get('expiresAt') as Timestamp).seconds).toBe(event.expiresAtEpochSeconds);
    expect(raw?.get('expiresAtEpochSeconds')).toBeUndefined();
    expect(await store.getEvent('aws', event.eventId)).toEqual(event);
  });

  it.each([
    [
      'a LicenseArn with / and :',
      `arn:aws:license-manager::123456789012:license/l-${randomUUID()}`,
    ],
    ['a dot', '.'],
    ['two dots', '..'],
    ['a reserved-looking id', '__name__'],
    ['non-ASCII text', `entitlement-🚀-é-${randomUUID()}`],
  ])('round-trips an entitlement id that is %s', async (_, id) => {
    const entitlement = anEntitlement({ cloud: 'aws', id, accountId: `acct-${randomUUID()}` });
    const stored = await store.putEntitlement(entitlement, 0);
    expect(await store.getEntitlement({ cloud: 'aws', id })).toEqual(stored);
    const page = await store.listEntitlements(
      { by: 'account', cloud: 'aws', accountId: entitlement.accountId },
      { limit: 10 },
    );
    expect(page.items).toEqual([stored]);
  });

  it('rejects an id that is not well-formed Unicode, which would share a document', async () => {
    await expect(
      store.putEntitlement(anEntitlement({ id: 'ent-\ud800' }), 0),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('keeps foreign blobs exactly, nested arrays and reserved keys included', async () => {
    const event = anEventRecord({
      payload: { matrix: [[1, 2], [3]], __name__: 'x', '': null, deep: { a: [{ b: [[]] }] } },
    });
    const entitlement = anEntitlement({
      snapshot: { updateTimeEpochMs: T0, data: { nested: [[['x']]], 'a.b': 1 } },
    });
    const outbox = [anOutboxMessage({ data: { list: [[1]], none: null } })];
    await store.applyDecision(
      aDecision({ event, entitlement: { next: entitlement, expectedVersion: 0 }, outbox }),
    );
    expect(await store.getEvent('gcp', event.eventId)).toEqual(event);
    expect(await store.getEntitlement(entitlement)).toEqual({ ...entitlement, version: 1 });
    expect(await store.getOutboxMessage(outbox[0]!.id)).toEqual(outbox[0]);
  });

  it('rejects a cursor issued by another listing', async () => {
    const accountId = `acct-${randomUUID()}`;
    await Promise.all([1, 2].map(() => store.putEntitlement(anEntitlement({ accountId }), 0)));
    const first = await store.listEntitlements(
      { by: 'account', cloud: 'gcp', accountId },
      { limit: 1 },
    );
    expect(first.nextCursor).not.toBeNull();
    await expect(
      store.listUnsentUsageHours(
        { cloud: 'gcp', beforeEpochMs: T0 },
        { limit: 1, cursor: first.nextCursor },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('keeps stores with different collection prefixes apart', async () => {
    const other = createFirestoreStore(db, { collectionPrefix: 'other_' });
    const entitlement = await store.putEntitlement(anEntitlement(), 0);
    expect(await other.getEntitlement(entitlement)).toBeNull();
    expect(() => createFirestoreStore(db, { collectionPrefix: 'a/b' })).toThrow(ValidationError);
  });

  it('names the prefixed collections in the index list', () => {
    expect(FIRESTORE_INDEXES.composite.map((i) => i.collection)).toEqual([
      'entitlements',
      'entitlements',
      'entitlements',
      'accounts',
      'usageHours',
      'outbox',
    ]);
    const prefixed = firestoreIndexes('mc_');
    expect(prefixed.composite.map((i) => [i.collection, i.fields.map((f) => f.fieldPath)])).toEqual(
      [
        ['mc_entitlements', ['cloud', 'accountId', 'sortKey']],
        ['mc_entitlements', ['tenantId', 'sortKey']],
        ['mc_entitlements', ['status', 'sortKey']],
        ['mc_accounts', ['tenantId', 'sortKey']],
        ['mc_usageHours', ['cloud', 'entitlementId', 'hourKey']],
        ['mc_outbox', ['pendingOrderingKey', 'timeKey']],
      ],
    );
    expect(prefixed.fieldOverrides.filter((o) => o.ttl).map((o) => o.collection)).toEqual([
      'mc_events',
      'mc_usageIds',
      'mc_deliveries',
    ]);
  });

  it('keeps the delivery log under its message, its expiry a Timestamp for the TTL policy', async () => {
    const attempt = aDeliveryAttempt({ endpointId: 'https://vendor.example/hooks/a' });
    await store.recordDeliveryAttempt(attempt);
    const raw = await db
      .collection(`${collectionPrefix}outbox`)
      .doc(Buffer.from(attempt.messageId).toString('base64url'))
      .collection(`${collectionPrefix}deliveries`)
      .get();
    expect(raw.docs).toHaveLength(1);
    expect(raw.docs[0]?.get('expiresAt')).toBeInstanceOf(Timestamp);
    expect((raw.docs[0]?.get('expiresAt') as Timestamp).seconds).toBe(
      attempt.expiresAtEpochSeconds,
    );
    expect((await store.listDeliveryAttempts(attempt.messageId, { limit: 10 })).items).toEqual([
      attempt,
    ]);
  });

  it('reads a message stored before statuses: pending while due, delivered otherwise', async () => {
    const {
      status: _status,
      deliveredTo: _deliveredTo,
      claimId: _claimId,
      replayedAtEpochMs: _replayedAtEpochMs,
      ...legacy
    } = anOutboxMessage();
    const write = (id: string, due: boolean) =>
      db
        .collection(`${collectionPrefix}outbox`)
        .doc(Buffer.from(id).toString('base64url'))
        .set({
          ...legacy,
          id,
          data: undefined,
          dataJson: JSON.stringify(legacy.data),
          dueAtEpochMs: due ? legacy.nextAttemptAtEpochMs : null,
        });
    const [pending, delivered] = [`out-${randomUUID()}`, `out-${randomUUID()}`];
    await write(pending, true);
    await write(delivered, false);
    expect(await store.getOutboxMessage(pending)).toEqual({
      ...legacy,
      id: pending,
      status: 'pending',
      deliveredTo: [],
      claimId: null,
      replayedAtEpochMs: null,
    });
    expect(await store.getOutboxMessage(delivered)).toMatchObject({
      status: 'delivered',
      deliveredTo: [],
    });
    // A replay puts it on every list it belongs to.
    const replayed = await store.replayOutbox(delivered, T0 + 1);
    const pendingOfKey = await store.listOutbox(
      { by: 'ordering', orderingKey: outboxOrderingKey(replayed) },
      { limit: 1_000 },
    );
    expect(pendingOfKey.items.map((m) => m.id)).toContain(delivered);
  });

  it('turns an unreachable engine into a retryable StoreUnavailableError with the cause', async () => {
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
      code: 14,
    });
    const failing = {
      collection: () => ({ doc: () => ({ get: () => Promise.reject(unavailable) }) }),
    } as unknown as Firestore;
    const error = await createFirestoreStore(failing)
      .getEvent('gcp', 'e-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect((error as StoreUnavailableError).cause).toBe(unavailable);
  });
});
