import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type * as DynamoDbAdapter from '../shared/adapters/dynamodb';
import {
  createDynamoDbDocumentClient,
  createDynamoDbStore,
  createTable,
} from '../shared/adapters/dynamodb';
import { ingestUsage } from '../shared/app/ingest-usage';
import type { IngestUsageDeps } from '../shared/app/ingest-usage';
import { loadUsageIngestConfig } from '../shared/config/usage-config';
import { newEntitlement } from '../shared/domain/entitlement';
import { HOUR_MS, hourStartEpochMs } from '../shared/domain/time';
import { vendorIdOf } from '../shared/domain/vendor-events';
import type { Store, UsageIngest } from '../shared/ports/store';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local';
import { serveHttpApi } from '../infra/local/lambda-http';
import { bump, total } from './counters';
import type { Counter } from './counters';
import { forEachInParallel } from './parallel';

/**
 * bench/usage-ingest: the vendor's usage through `POST /v1/usage` over real HTTP, 1,000 records
 * a request, to the AWS vendor API function (`functions/vendor/aws-api.ts`, served as API
 * Gateway would invoke it) on DynamoDB Local. The goal: one atomic add per distinct
 * (entitlement, dimension, hour) of a batch, not one per record. Store writes are counted twice:
 * `addUsage` calls, by wrapping the store the function builds, and the requests DynamoDB Local
 * receives, by a counting proxy in front of it (so nothing the SDK does in between is missed).
 * The goal is judged on the engine's write requests: one `addUsage` of more usage ids than one
 * transaction holds (99 and the hour) is several. A baseline in the same run adds the same
 * records one `addUsage` each.
 */

const RECORDS_PER_BATCH = 1_000;
const DIMENSIONS = ['requests', 'users'] as const;
const PRODUCT_CODE = 'bench0product0code000001';
const WRITE_TARGETS = new Set([
  'TransactWriteItems',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
]);

const elapsedMs = (startedNs: bigint): number => Number(process.hrtime.bigint() - startedNs) / 1e6;
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** What DynamoDB Local was asked: requests by operation, and items written by transactions. */
interface EngineLog {
  readonly requests: Counter;
  transactItems: number;
}

/**
 * A pass-through HTTP proxy in front of DynamoDB Local that counts each request by its
 * `X-Amz-Target` operation: what the store really asked of the engine, retries included.
 */
const startCountingProxy = async (engineEndpoint: string) => {
  const engine = new URL(engineEndpoint);
  const log: EngineLog = { requests: new Map(), transactItems: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() || 'other';
      bump(log.requests, operation);
      if (operation === 'TransactWriteItems') {
        const parsed = JSON.parse(body.toString('utf8')) as { TransactItems?: unknown[] };
        log.transactItems += parsed.TransactItems?.length ?? 0;
      }
      const forwarded = request(
        {
          host: engine.hostname,
          port: engine.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    reset: () => {
      log.requests.clear();
      log.transactItems = 0;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const engineFigures = (log: EngineLog, batches: number) => {
  const writes = [...log.requests].filter(([operation]) => WRITE_TARGETS.has(operation));
  const writeRequests = writes.reduce((sum, [, n]) => sum + n, 0);
  return {
    engineWriteRequestsPerBatch: round(writeRequests / batches),
    engineItemsWrittenPerBatch: round(log.transactItems / batches),
    engineRequestsPerBatch: round(total(log.requests) / batches),
    engineRequestsByOperation: Object.fromEntries(
      [...log.requests].map(([operation, n]) => [operation, round(n / batches)]),
    ),
  };
};

/** Counts the `addUsage` calls made through `store`. */
const countingAdds = (store: Store, counter: { addUsage: number }): Store => ({
  ...store,
  addUsage: (ingest: UsageIngest) => {
    counter.addUsage += 1;
    return store.addUsage(ingest);
  },
});

interface Shape {
  readonly name: string;
  readonly entitlements: number;
  readonly hours: number;
}

/** The distinct (entitlement, dimension, hour) a batch of this shape touches. */
const distinctKeysOf = (shape: Shape) => shape.entitlements * DIMENSIONS.length * shape.hours;

/** A batch spreading its records round-robin over every (entitlement, dimension, hour). */
const batchOf = (shape: Shape, vendorIds: readonly string[], nowEpochMs: number) => {
  const openHour = hourStartEpochMs(nowEpochMs);
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
    const key = i % distinctKeysOf(shape);
    const entitlement = key % shape.entitlements;
    const dimension = DIMENSIONS[Math.floor(key / shape.entitlements) % DIMENSIONS.length]!;
    const back = Math.floor(key / (shape.entitlements * DIMENSIONS.length));
    // Inside the hour and never ahead of the clock: the open hour's records are a minute old.
    const atEpochMs = back === 0 ? nowEpochMs - 60_000 : openHour - back * HOUR_MS + 1_000;
    return {
      usageId: `bench-${randomUUID()}`,
      entitlementId: vendorIds[entitlement]!,
      dimension,
      quantity: (i % 10) + 1,
      timestamp: new Date(atEpochMs).toISOString(),
    };
  });
};

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** The vendor API function, loaded as Lambda would (config at import), its store counted. */
const loadVendorApi = (env: Record<string, string>, counter: { addUsage: number }) => {
  Object.assign(process.env, env);
  /* eslint-disable @typescript-eslint/no-require-imports */
  // The function builds its store at import: the adapter's factory is wrapped in the module
  // cache first, so the calls the function makes are counted, not inferred.
  const adapterPath = require.resolve('../shared/adapters/dynamodb');
  const adapter = require(adapterPath) as typeof DynamoDbAdapter;
  const cached = require.cache[adapterPath]!;
  cached.exports = {
    ...adapter,
    createDynamoDbStoreFromConfig: (
      config: Parameters<typeof adapter.createDynamoDbStoreFromConfig>[0],
    ) => countingAdds(adapter.createDynamoDbStoreFromConfig(config), counter),
  };
  const loaded = require('../functions/vendor/aws-api') as { handler: HttpHandler };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return loaded.handler;
};

const post = async (url: string, apiKey: string, records: unknown[]) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records }),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`POST /v1/usage answered ${response.status}: ${text.slice(0, 300)}`);
  }
  return JSON.parse(text) as { accepted: number; duplicates: number; rejected: number };
};

const medianOf = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

export const benchUsageIngest = async (
  options: { batches?: number; baselineBatches?: number; clients?: number } = {},
) => {
  const batches = options.batches ?? 20;
  const baselineBatches = options.baselineBatches ?? 3;
  const clients = options.clients ?? 4;
  const shapes: Shape[] = [
    // 500 records a key: more than one transaction holds.
    { name: 'hot', entitlements: 1, hours: 1 },
    { name: 'concentrated', entitlements: 10, hours: 1 },
    { name: 'spread', entitlements: 50, hours: 2 },
  ];

  const dynamo = await startDynamoDbLocal();
  const proxy = await startCountingProxy(dynamo.endpoint);
  const client = createDynamoDbDocumentClient({ endpoint: proxy.endpoint, region: 'us-east-1' });
  let server: Server | undefined;
  try {
    const tableName = `bench-usage-${randomUUID()}`;
    await createTable(client, tableName);
    const store = createDynamoDbStore(client, { tableName });
    const now = Date.now();
    const entitlementCount = Math.max(...shapes.map((shape) => shape.entitlements));
    const vendorIds: string[] = [];
    await forEachInParallel(
      Array.from({ length: entitlementCount }, (_, i) => i),
      16,
      async (i) => {
        const entitlement = await store.putEntitlement(
          newEntitlement(
            {
              cloud: 'aws',
              id: `arn:aws:license-manager::123456789012:license:l-bench${i}${randomUUID().slice(0, 8)}`,
            },
            { accountId: '123456789012', productId: PRODUCT_CODE, status: 'active' },
            now - 2 * 24 * HOUR_MS,
          ),
          0,
        );
        vendorIds[i] = vendorIdOf(entitlement);
      },
    );

    const keyId = `bench${randomBytes(4).toString('hex')}`;
    const apiKey = `mck_${keyId}_${randomBytes(32).toString('base64url')}`;
    const env = {
      STORE_BACKEND: 'dynamodb',
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: proxy.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_PRODUCT_CODE: PRODUCT_CODE,
      METERING_DIMENSIONS: DIMENSIONS.join(','),
      METERING_WINDOW_HOURS: '24',
      VENDOR_API_KEYS: `${keyId}:usage:write:${createHash('sha256').update(apiKey).digest('hex')}`,
      LOG_LEVEL: 'error',
    };
    const functionAdds = { addUsage: 0 };
    const handler = loadVendorApi(env, functionAdds);
    server = serveHttpApi(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/usage`;

    const config = loadUsageIngestConfig(env);
    const inProcessAdds = { addUsage: 0 };
    const deps: IngestUsageDeps = {
      store: countingAdds(store, inProcessAdds),
      clock: { now: () => Date.now() },
      windowHours: config.windowHours,
      knownDimensions: config.knownDimensions,
      dedupeTtlSeconds: config.dedupeTtlSeconds,
      clouds: ['aws'],
    };

    // Warm up connections, the JIT and the function's cold start before counting.
    await post(url, apiKey, batchOf(shapes[0]!, vendorIds, Date.now()));

    const results = [];
    for (const shape of shapes) {
      const distinct = distinctKeysOf(shape);

      // Over HTTP, one client after another: the cost of one batch.
      proxy.reset();
      functionAdds.addUsage = 0;
      const tookMs: number[] = [];
      let accepted = 0;
      const sequentialStarted = process.hrtime.bigint();
      for (let b = 0; b < batches; b += 1) {
        const batch = batchOf(shape, vendorIds, Date.now());
        const started = process.hrtime.bigint();
        accepted += (await post(url, apiKey, batch)).accepted;
        tookMs.push(elapsedMs(started));
      }
      const sequentialMs = elapsedMs(sequentialStarted);
      const http = {
        recordsPerSecond: round((batches * RECORDS_PER_BATCH) / (sequentialMs / 1_000)),
        medianMsPerBatch: round(medianOf(tookMs)),
        accepted,
        addUsageCallsPerBatch: round(functionAdds.addUsage / batches),
        ...engineFigures(proxy.log, batches),
      };

      // Over HTTP, several clients at once: what the function and the engine sustain.
      const concurrentBatches = Array.from({ length: batches }, () =>
        batchOf(shape, vendorIds, Date.now()),
      );
      const concurrentStarted = process.hrtime.bigint();
      await forEachInParallel(concurrentBatches, clients, (batch) => post(url, apiKey, batch));
      const concurrentMs = elapsedMs(concurrentStarted);

      // A retried batch: every record answers duplicate, nothing is added.
      const retried = batchOf(shape, vendorIds, Date.now());
      await post(url, apiKey, retried);
      const retry = await post(url, apiKey, retried);

      // In process, grouped as the function does, then the baseline: one add per record.
      proxy.reset();
      inProcessAdds.addUsage = 0;
      const groupedStarted = process.hrtime.bigint();
      for (let b = 0; b < baselineBatches; b += 1) {
        await ingestUsage(deps, batchOf(shape, vendorIds, Date.now()));
      }
      const groupedMs = elapsedMs(groupedStarted);
      const grouped = {
        recordsPerSecond: round((baselineBatches * RECORDS_PER_BATCH) / (groupedMs / 1_000)),
        addUsageCallsPerBatch: round(inProcessAdds.addUsage / baselineBatches),
        ...engineFigures(proxy.log, baselineBatches),
      };

      proxy.reset();
      inProcessAdds.addUsage = 0;
      const baselineStarted = process.hrtime.bigint();
      for (let b = 0; b < baselineBatches; b += 1) {
        const batch = batchOf(shape, vendorIds, Date.now());
        // As many adds in flight as the use case allows itself, for a fair comparison.
        await forEachInParallel(batch, 8, async (record) => {
          const ref = { cloud: 'aws' as const, id: record.entitlementId.slice('aws:'.length) };
          await deps.store.addUsage({
            cloud: ref.cloud,
            entitlementId: ref.id,
            dimension: record.dimension,
            hourStartEpochMs: hourStartEpochMs(Date.parse(record.timestamp)),
            records: [{ usageId: record.usageId, quantity: record.quantity }],
            dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1_000) + config.dedupeTtlSeconds,
            nowEpochMs: Date.now(),
          });
        });
      }
      const baselineMs = elapsedMs(baselineStarted);
      const baseline = {
        recordsPerSecond: round((baselineBatches * RECORDS_PER_BATCH) / (baselineMs / 1_000)),
        addUsageCallsPerBatch: round(inProcessAdds.addUsage / baselineBatches),
        ...engineFigures(proxy.log, baselineBatches),
      };

      results.push({
        shape: shape.name,
        recordsPerBatch: RECORDS_PER_BATCH,
        distinctEntitlementDimensionHoursPerBatch: distinct,
        http: {
          sequential: http,
          concurrent: {
            clients,
            recordsPerSecond: round((batches * RECORDS_PER_BATCH) / (concurrentMs / 1_000)),
          },
          retriedBatch: {
            accepted: retry.accepted,
            duplicates: retry.duplicates,
            rejected: retry.rejected,
          },
        },
        inProcess: { grouped, baselineOneAddPerRecord: baseline },
        // Writes, not `addUsage` calls: a key with more records than a transaction holds costs
        // several, which only the engine's count shows.
        goalMet: http.engineWriteRequestsPerBatch <= distinct,
        engineWriteRequestsPerDistinctKey: round(http.engineWriteRequestsPerBatch / distinct, 2),
        ratios: {
          groupedOverBaselineRecordsPerSecond: round(
            grouped.recordsPerSecond / baseline.recordsPerSecond,
            2,
          ),
          httpOverBaselineRecordsPerSecond: round(
            http.recordsPerSecond / baseline.recordsPerSecond,
            2,
          ),
          baselineOverGroupedEngineWriteRequests: round(
            baseline.engineWriteRequestsPerBatch / grouped.engineWriteRequestsPerBatch,
            2,
          ),
        },
      });
    }

    return {
      bench: 'usage-ingest',
      goal: 'one atomic add per distinct (entitlement, dimension, hour) of a batch, not one per record',
      engine: 'DynamoDB Local, through a counting proxy',
      batches: { http: batches, inProcess: baselineBatches },
      // DynamoDB Local and this process share the CPUs: a busy machine slows every figure.
      loadAverage1m: round(loadavg()[0]!, 2),
      shapes: results,
    };
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    client.destroy();
    await proxy.stop();
    await dynamo.stop();
  }
};
