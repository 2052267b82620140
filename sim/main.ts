import type { SimulatorOptions } from './server';
import { createSimulator } from './server';

/**
 * `npm run sim`: the simulator on its own, for `npm start` and for vendors trying their
 * integration. Prints exactly one line once it listens, which scripts wait for.
 *
 * Environment: SIM_PORT (default 4010, `0` for a free port), SIM_SEED, and for Google
 * SIM_GCP_PROVIDER_ID (default `DEMO-local`), SIM_GCP_PRODUCT_DOMAINS (comma-separated),
 * SIM_GCP_PUSH_ENDPOINT, SIM_GCP_PUSH_AUDIENCE, SIM_GCP_PUSH_SERVICE_ACCOUNT,
 * SIM_GCP_SUBSCRIPTION, SIM_GCP_DELIVER (`async`, `sync` or `manual`).
 */
const DEFAULT_PORT = 4010;

const fail = (message: string): never => {
  console.error(message);
  process.exit(1);
};

const readOptions = (env: NodeJS.ProcessEnv): SimulatorOptions => {
  const rawPort = env.SIM_PORT ?? String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535) {
    fail(`SIM_PORT must be a port number (0 for a free one), not "${rawPort}"`);
  }
  const pushEndpoint = env.SIM_GCP_PUSH_ENDPOINT || undefined;
  if (pushEndpoint && !URL.canParse(pushEndpoint)) {
    fail(`SIM_GCP_PUSH_ENDPOINT must be a URL, not "${pushEndpoint}"`);
  }
  const deliver = env.SIM_GCP_DELIVER || undefined;
  if (deliver && !['sync', 'async', 'manual'].includes(deliver)) {
    fail(`SIM_GCP_DELIVER must be sync, async or manual, not "${deliver}"`);
  }
  const domains = (env.SIM_GCP_PRODUCT_DOMAINS ?? '')
    .split(',')
    .map((domain) => domain.trim())
    .filter(Boolean);
  return {
    port,
    ...(env.SIM_SEED ? { seed: env.SIM_SEED } : {}),
    gcp: {
      providerId: env.SIM_GCP_PROVIDER_ID || 'DEMO-local',
      ...(domains.length ? { productDomains: domains } : {}),
      ...(pushEndpoint ? { pushEndpoint } : {}),
      ...(env.SIM_GCP_PUSH_AUDIENCE ? { pushAudience: env.SIM_GCP_PUSH_AUDIENCE } : {}),
      ...(env.SIM_GCP_PUSH_SERVICE_ACCOUNT
        ? { pushServiceAccount: env.SIM_GCP_PUSH_SERVICE_ACCOUNT }
        : {}),
      ...(env.SIM_GCP_SUBSCRIPTION ? { subscription: env.SIM_GCP_SUBSCRIPTION } : {}),
      ...(deliver ? { deliver: deliver as 'sync' | 'async' | 'manual' } : {}),
    },
  };
};

const main = async (): Promise<void> => {
  const simulator = await createSimulator(readOptions(process.env));
  console.log(`simulator listening on ${simulator.url}`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await simulator.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
};

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
