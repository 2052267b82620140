import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { SimCloud, SimContext } from './cloud';
import type { AwsSimulatorOptions } from './aws/aws-options';
import type { AwsSimulatorHandle } from './aws/aws-simulator';
import { createAwsSimulator } from './aws/aws-simulator';
import { createSimClock } from './clock';
import { createDeliveryScheduler } from './deliveries';
import type { FaultSettings } from './faults';
import { createFaults } from './faults';
import type { GcpSimulatorOptions } from './gcp/gcp-options';
import type { GcpSimulatorHandle } from './gcp/gcp-simulator';
import { createGcpSimulator } from './gcp/gcp-simulator';
import { SimHttpError, simError } from './http/http-error';
import { parseBody } from './http/parse-body';
import { readJson } from './http/read-json';
import { createRouter } from './http/router';
import type { SimRequest, SimResponse, SimRoute } from './http/types';
import type { RecordedMessage } from './messages';
import { createMessageLog } from './messages';
import type { Seed } from './random';
import { randomSeed } from './random';

/**
 * The marketplace simulator: one `node:http` server for every simulated cloud. This file owns
 * the server, routing, fault injection, the message log and the `/_sim/*` routes common to all
 * clouds; each cloud (`sim/gcp`, `sim/aws`) brings its API routes, buyer actions and
 * error format as a `SimCloud`.
 */
export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Makes ids, message ids and fault dice repeat from run to run; keys stay random. */
  readonly seed?: Seed;
  /** Wall clock in epoch ms, for tests that move time. */
  readonly now?: () => number;
  readonly gcp?: GcpSimulatorOptions;
  readonly aws?: AwsSimulatorOptions;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly seed: Seed;
  readonly gcp: GcpSimulatorHandle;
  readonly aws: AwsSimulatorHandle;
  /** Every message sent, all clouds, oldest first (`GET /_sim/messages`). */
  messages(filter?: { cloud?: string; eventType?: string }): readonly RecordedMessage[];
  /** Resolves `true` once no delivery is in flight or waiting for a retry. */
  idle(timeoutMs?: number): Promise<boolean>;
  /** `POST /_sim/faults`: replaces the fault settings (validated as the route does). */
  setFaults(settings: FaultSettings & Record<string, unknown>): void;
  resetFaults(): void;
  /** Forgets every resource, message, report and fault; keys and configuration stay. */
  reset(): void;
  stop(): Promise<void>;
}

const COMMON_FAULT_SHAPE = {
  throttleRps: z.number().positive().optional(),
  errorRate: z.number().min(0).max(1).optional(),
  delayMs: z.number().int().min(0).max(60_000).optional(),
  seed: z.union([z.string(), z.number()]).optional(),
  scope: z.string().optional(),
};

const send = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
  text?: string,
): void => {
  if (res.headersSent) return;
  const payload = text ?? JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': text === undefined ? 'application/json; charset=UTF-8' : 'text/plain',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
};

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

export const createSimulator = async (options: SimulatorOptions = {}): Promise<Simulator> => {
  const seed = options.seed ?? randomSeed();
  const host = options.host ?? '127.0.0.1';
  const clock = createSimClock(options.now);
  const messages = createMessageLog();
  const deliveries = createDeliveryScheduler(clock);
  const faults = createFaults(clock, seed);
  // Known once the server listens; clouds ask for it when they handle, not when they are built.
  const listening: { url?: string } = {};
  const context: SimContext = {
    seed,
    clock,
    messages,
    deliveries,
    baseUrl: () => {
      if (listening.url === undefined) throw new Error('the simulator is not listening yet');
      return listening.url;
    },
  };

  const [gcp, aws] = await Promise.all([
    createGcpSimulator(context, options.gcp),
    createAwsSimulator(context, options.aws),
  ]);
  const clouds: readonly SimCloud[] = [gcp.cloud, aws.cloud];
  const cloudByName = new Map(clouds.map((cloud) => [cloud.name, cloud]));

  const faultSchema = z.strictObject({
    ...COMMON_FAULT_SHAPE,
    scope: z.enum(['all', ...clouds.map((cloud) => cloud.name)]).optional(),
    ...Object.assign({}, ...clouds.map((cloud) => cloud.faults?.shape ?? {})),
  });

  const applyFaults = (settings: Record<string, unknown>): void => {
    const { throttleRps, errorRate, delayMs, seed: faultSeed, scope } = settings as FaultSettings;
    const common: FaultSettings = { throttleRps, errorRate, delayMs, seed: faultSeed, scope };
    faults.configure(common);
    for (const cloud of clouds) {
      if (!cloud.faults) continue;
      const own = Object.keys(cloud.faults.shape);
      cloud.faults.configure(Object.fromEntries(own.map((key) => [key, settings[key]])), common);
    }
  };

  const resetFaults = (): void => {
    faults.reset();
    for (const cloud of clouds) cloud.faults?.reset();
  };

  const faultView = (): Record<string, unknown> => ({
    ...faults.settings(),
    ...Object.assign({}, ...clouds.map((cloud) => cloud.faults?.settings?.() ?? {})),
  });

  const reset = (): void => {
    resetFaults();
    messages.clear();
    for (const cloud of clouds) cloud.reset();
  };

  const commonRoutes: SimRoute[] = [
    { method: 'GET', pattern: '/_sim/health', handle: () => ({ status: 200, body: { ok: true } }) },
    {
      method: 'GET',
      pattern: '/_sim/messages',
      handle: (request) => {
        const cloud = request.url.searchParams.get('cloud') ?? undefined;
        const eventType = request.url.searchParams.get('eventType') ?? undefined;
        return { status: 200, body: { messages: messages.list({ cloud, eventType }) } };
      },
    },
    { method: 'GET', pattern: '/_sim/faults', handle: () => ({ status: 200, body: faultView() }) },
    {
      method: 'POST',
      pattern: '/_sim/faults',
      handle: async (request) => {
        applyFaults(await parseBody(request, faultSchema));
        return { status: 200, body: faultView() };
      },
    },
    {
      method: 'DELETE',
      pattern: '/_sim/faults',
      handle: () => {
        resetFaults();
        return { status: 200, body: faultView() };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/idle',
      handle: async (request) => {
        const timeoutMs = Number(request.url.searchParams.get('timeoutMs') ?? 30_000);
        if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
          throw simError(400, 'timeoutMs must be a non-negative number of milliseconds');
        }
        return { status: 200, body: { idle: await deliveries.idle(timeoutMs) } };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/reset',
      handle: () => {
        reset();
        return { status: 200, body: { ok: true } };
      },
    },
  ];

  const router = createRouter([...commonRoutes, ...clouds.flatMap((cloud) => cloud.routes)]);

  const handle = async (req: IncomingMessage): Promise<SimResponse> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://simulator.local');
    const match = router.match(method, url.pathname);
    if (match === undefined) throw simError(404, `no route for ${method} ${url.pathname}`);
    if (match === 'methodNotAllowed') {
      throw simError(405, `${method} is not allowed on ${url.pathname}`);
    }
    let body: Promise<unknown> | undefined;
    const request: SimRequest = {
      method,
      url,
      params: match.params,
      headers: req.headers,
      json: () => (body ??= readJson(req)),
    };
    const api = match.route.api;
    const cloud = api === undefined ? undefined : cloudByName.get(api);
    if (cloud) {
      cloud.guard?.(request);
      const outcome = await faults.apply(cloud.name);
      if (outcome !== 'pass') throw cloud.faultError(outcome);
    }
    return match.route.handle(request);
  };

  const server = createServer((req, res) => {
    handle(req).then(
      (response) => send(res, response.status, response.body, response.headers, response.text),
      (error: unknown) => {
        if (error instanceof SimHttpError)
          return send(res, error.status, error.body, error.headers);
        const message = error instanceof Error ? error.message : String(error);
        send(res, 500, { error: { code: 500, message, status: 'INTERNAL' } });
      },
    );
  });
  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${host}:${port}`;
  listening.url = url;

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    seed,
    gcp: gcp.handle,
    aws: aws.handle,
    messages: (filter) => messages.list(filter),
    idle: (timeoutMs) => deliveries.idle(timeoutMs),
    setFaults: (settings) => {
      const parsed = faultSchema.safeParse(settings);
      if (!parsed.success) throw new Error(`invalid faults: ${parsed.error.message}`);
      applyFaults(parsed.data);
    },
    resetFaults,
    reset,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        deliveries.stop();
        for (const cloud of clouds) cloud.stop?.();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
};
