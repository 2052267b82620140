import { collectionsFor } from './firestore-mappers';

/** One composite index, shaped like Terraform's `google_firestore_index`. */
export interface FirestoreCompositeIndex {
  readonly collection: string;
  readonly queryScope: 'COLLECTION';
  readonly fields: ReadonlyArray<{ readonly fieldPath: string; readonly order: 'ASCENDING' }>;
  /** The store method whose query needs it. */
  readonly usedBy: string;
}

/** One single-field setting, shaped like Terraform's `google_firestore_field`. */
export interface FirestoreFieldOverride {
  readonly collection: string;
  readonly field: string;
  /** A TTL policy deletes the document once this Timestamp field is in the past. */
  readonly ttl: boolean;
  /** False: exempt from the automatic single-field indexes (`index_config {}`). */
  readonly indexed: boolean;
  readonly why: string;
}

export interface FirestoreIndexes {
  readonly composite: readonly FirestoreCompositeIndex[];
  readonly fieldOverrides: readonly FirestoreFieldOverride[];
}

const ascending = (...fieldPaths: string[]) =>
  fieldPaths.map((fieldPath) => ({ fieldPath, order: 'ASCENDING' as const }));

/**
 * Everything the store needs beyond Firestore's automatic single-field indexes, for the
 * collection prefix the store was created with. The claim query (`outbox.dueAtEpochMs`), the
 * unsent-hours query (`usageHours.unsentKey`), the outbox by time (`outbox.timeKey`) and a
 * message's delivery log (`deliveries.sortKey`, a subcollection) range over one field each, so
 * the automatic indexes serve them; the listings that filter by equality and order by another
 * field need composites.
 */
export const firestoreIndexes = (collectionPrefix = ''): FirestoreIndexes => {
  const c = collectionsFor(collectionPrefix);
  return {
    composite: [
      {
        collection: c.entitlements,
        queryScope: 'COLLECTION',
        fields: ascending('cloud', 'accountId', 'sortKey'),
        usedBy: "listEntitlements({ by: 'account' })",
      },
      {
        collection: c.entitlements,
        queryScope: 'COLLECTION',
        fields: ascending('tenantId', 'sortKey'),
        usedBy: "listEntitlements({ by: 'tenant' })",
      },
      {
        collection: c.entitlements,
        queryScope: 'COLLECTION',
        fields: ascending('status', 'sortKey'),
        usedBy: "listEntitlements({ by: 'status' })",
      },
      {
        collection: c.accounts,
        queryScope: 'COLLECTION',
        fields: ascending('tenantId', 'sortKey'),
        usedBy: "listAccounts({ by: 'tenant' })",
      },
      {
        collection: c.usageHours,
        queryScope: 'COLLECTION',
        fields: ascending('cloud', 'entitlementId', 'hourKey'),
        usedBy: 'listUsageHours',
      },
      {
        collection: c.outbox,
        queryScope: 'COLLECTION',
        fields: ascending('pendingOrderingKey', 'timeKey'),
        usedBy: "listOutbox({ by: 'ordering' })",
      },
    ],
    fieldOverrides: [
      {
        collection: c.events,
        field: 'expiresAt',
        ttl: true,
        indexed: false,
        why: 'event records expire; an index on a TTL timestamp only adds write hotspots',
      },
      {
        collection: c.usageIds,
        field: 'expiresAt',
        ttl: true,
        indexed: false,
        why: 'usage ids are forgotten after the dedupe window',
      },
      {
        // A collection group: the setting covers the log under every outbox message.
        collection: c.deliveryAttempts,
        field: 'expiresAt',
        ttl: true,
        indexed: false,
        why: 'delivery attempts expire with the delivery log',
      },
      ...[
        [c.accounts, 'snapshot.dataJson'],
        [c.entitlements, 'snapshot.dataJson'],
        [c.events, 'payloadJson'],
        [c.outbox, 'dataJson'],
      ].map(([collection, field]): FirestoreFieldOverride => ({
        collection: collection!,
        field: field!,
        ttl: false,
        indexed: false,
        why: 'an opaque JSON blob, never queried; indexing it only costs writes',
      })),
    ],
  };
};

/** The indexes for the default (unprefixed) collections. */
export const FIRESTORE_INDEXES: FirestoreIndexes = firestoreIndexes();
