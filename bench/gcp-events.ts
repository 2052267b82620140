import { FirestoreServer } from '@firestore-emulator/server';
import type { Server } from 'node:http';
import { freePort } from '../infra/local/free-port';
import { bump, countFirestoreCalls, perOperation, total } from './counters';
import type { Counter } from './counters';
import { createSimulator } from '../sim/server';

/**
 * bench/gcp-events: marketplace messages through the real push entry point (`gcpEventsPush`,
 * served by the Functions Framework) against the simulator and the in-process Firestore
 * emulator. Counts, per event, the Procurement API reads (goal: 1) and the store round trips
 * (goal: 1 read + 1 atomic write), and measures events per second with 4 pushes in flight.
 */

/** Counts the function's calls to the Procurement API, which it makes through `fetch`. */
const countProcurementReads = (counter: Counter): void => {
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.includes('/v1/providers/')) bump(counter, `${init?.method ?? 'GET'} procurement`);
    return original(input, init);
  }) as typeof fetch;
};

const inBatches = async <T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<unknown>,
) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
};

export const benchGcpEvents = async (options: { purchases?: number } = {}) => {
  const purchases = options.purchases ?? 150;
  const firestore = new FirestoreServer();
  const firestorePort = await freePort();
  await firestore.start(firestorePort);
  const sim = await createSimulator({ gcp: { deliver: 'manual', accountNotifications: true } });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  Object.assign(process.env, {
    METADATA_SERVER_DETECTION: 'none',
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${firestorePort}`,
    FIRESTORE_PROJECT_ID: 'demo-bench-gcp',
    STORE_BACKEND: 'firestore',
    LOG_LEVEL: 'error',
    GCP_PROVIDER_ID: sim.gcp.providerId,
    PROCUREMENT_API_URL: sim.url,
    GOOGLE_CERTS_URL: sim.url,
    PUSH_AUDIENCE: url,
    PUSH_SERVICE_ACCOUNT: sim.gcp.configurePush({}).pushServiceAccount,
    // Manual approval: every message is one read and one write, nothing to answer.
    APPROVAL_POLICY: 'manual',
  });
  const reads: Counter = new Map();
  const storeCalls: Counter = new Map();
  countProcurementReads(reads);
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('../functions/gcp/events');
  const { getTestServer } = require('@google-cloud/functions-framework/testing') as {
    getTestServer: (name: string) => Server;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const server = getTestServer('gcpEventsPush');
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  sim.gcp.configurePush({ pushEndpoint: url, pushAudience: url });
  try {
    for (let i = 0; i < purchases; i += 1) await sim.gcp.purchase({ plan: 'pro' });
    const messageIds = sim.gcp.messages().map((m) => m.id);
    // Warm up connections and the JIT on a few, then count on the rest.
    const warmup = messageIds.slice(0, 10);
    await inBatches(warmup, 4, (id) => sim.gcp.redeliver(id));
    reads.clear();
    countFirestoreCalls(firestore, storeCalls);
    const measured = messageIds.slice(10);
    const started = process.hrtime.bigint();
    await inBatches(measured, 4, (id) => sim.gcp.redeliver(id));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const failed = sim.gcp.messages().filter((m) => m.attempts.at(-1)?.status !== 204).length;
    return {
      bench: 'gcp-events',
      goal: 'one Procurement read, one store read and one atomic write per event',
      events: measured.length,
      failed,
      inFlight: 4,
      elapsedSeconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Number((measured.length / seconds).toFixed(1)),
      procurementReadsPerEvent: total(reads) / measured.length,
      storeRoundTripsPerEvent: total(storeCalls) / measured.length,
      storeCallsPerEvent: perOperation(storeCalls, measured.length),
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sim.stop();
    firestore.stop();
  }
};
