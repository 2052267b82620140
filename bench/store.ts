import { FirestoreServer } from '@firestore-emulator/server';
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createDynamoDbDocumentClient,
  createDynamoDbStore,
  createTable,
} from '../shared/adapters/dynamodb';
import { createFirestoreClient, createFirestoreStore } from '../shared/adapters/firestore';
import { createJsonLogger } from '../shared/adapters/logging/json-logger';
import { handleMarketplaceEvent } from '../shared/app/handle-marketplace-event';
import type { MarketplaceEventCommand, ObservedEntitlement } from '../shared/domain/decision';
import type { MarketplaceObserver } from '../shared/ports/marketplace';
import type { Store } from '../shared/ports/store';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local';
import { freePort } from '../infra/local/free-port';
import { bump, countFirestoreCalls, perOperation, total } from './counters';
import type { Counter } from './counters';

/**
 * bench/store: what one lifecycle decision costs the store (goal: 1 read + 1 atomic write) and
 * how many decisions per second 4 concurrent writers on distinct entitlements get, on DynamoDB
 * Local and the in-process Firestore emulator. Round trips are counted where they happen: SDK
 * commands for DynamoDB, gRPC calls received by the emulator for Firestore.
 */

const countDynamoDbCommands = (client: DynamoDBDocumentClient, counter: Counter): void => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(counter, String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCommands' },
  );
};

const observed = (
  status: ObservedEntitlement['status'],
  updateTimeEpochMs: number,
): ObservedEntitlement => ({
  accountId: 'acct-bench',
  productId: 'bench-product',
  status,
  plan: 'pro',
  snapshot: { updateTimeEpochMs, data: { status } },
});

/** The marketplace as a function of the message: each message moves the purchase one step. */
const marketplace: MarketplaceObserver = {
  observe: async (command) => {
    const payload = command.payload as { status: ObservedEntitlement['status']; at: number };
    return { entitlement: observed(payload.status, payload.at) };
  },
};

const LIFECYCLE: Array<ObservedEntitlement['status']> = [
  'pending_approval',
  'active',
  'pending_cancellation',
  'cancelled',
];

const command = (
  entitlementId: string,
  status: ObservedEntitlement['status'],
  at: number,
): MarketplaceEventCommand => ({
  cloud: 'gcp',
  eventId: randomUUID(),
  type: `BENCH_${status.toUpperCase()}`,
  accountId: null,
  entitlementId,
  hint: null,
  payload: { status, at },
});

const deps = (store: Store) => ({
  store,
  marketplace,
  clock: { now: () => Date.now() },
  logger: createJsonLogger({ level: 'error', write: () => undefined }),
  eventTtlSeconds: 3_600,
});

/** Runs one purchase through its lifecycle; returns the decisions made. */
const lifecycle = async (store: Store): Promise<number> => {
  const id = `ent-${randomUUID()}`;
  let at = Date.now();
  for (const status of LIFECYCLE) {
    at += 1;
    await handleMarketplaceEvent(deps(store), command(id, status, at));
  }
  return LIFECYCLE.length;
};

const measure = async (store: Store, counter: Counter, writers: number, seconds: number) => {
  // Warm up connections and JIT before counting.
  await lifecycle(store);
  counter.clear();
  const sample = await lifecycle(store);
  const perDecision = perOperation(counter, sample);
  const roundTripsPerDecision = total(counter) / sample;

  const deadline = Date.now() + seconds * 1_000;
  const started = process.hrtime.bigint();
  const counts = await Promise.all(
    Array.from({ length: writers }, async () => {
      let decisions = 0;
      while (Date.now() < deadline) decisions += await lifecycle(store);
      return decisions;
    }),
  );
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const decisions = counts.reduce((a, b) => a + b, 0);
  return {
    roundTripsPerDecision,
    callsPerDecision: perDecision,
    writers,
    decisions,
    elapsedSeconds: Number(elapsedSeconds.toFixed(2)),
    decisionsPerSecond: Number((decisions / elapsedSeconds).toFixed(1)),
  };
};

export const benchStore = async (options: { seconds?: number } = {}) => {
  const seconds = options.seconds ?? 10;
  const dynamo = await startDynamoDbLocal();
  const firestore = new FirestoreServer();
  const firestorePort = await freePort();
  await firestore.start(firestorePort);
  process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${firestorePort}`;
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  try {
    const dynamoCounter: Counter = new Map();
    const client = createDynamoDbDocumentClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
    countDynamoDbCommands(client, dynamoCounter);
    await createTable(client, 'bench');
    const dynamoResult = await measure(
      createDynamoDbStore(client, { tableName: 'bench' }),
      dynamoCounter,
      4,
      seconds,
    );
    client.destroy();

    const firestoreCounter: Counter = new Map();
    countFirestoreCalls(firestore, firestoreCounter);
    const db = createFirestoreClient({ projectId: 'demo-bench' });
    const firestoreResult = await measure(createFirestoreStore(db), firestoreCounter, 4, seconds);
    await db.terminate();

    return {
      bench: 'store',
      goal: 'one read and one atomic write per lifecycle decision',
      dynamodbLocal: dynamoResult,
      firestoreEmulator: { ...firestoreResult, engine: '@firestore-emulator/server (in process)' },
    };
  } finally {
    firestore.stop();
    await dynamo.stop();
  }
};
