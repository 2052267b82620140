import type { AwsSimulatorOptions } from './aws/aws-options';
import type { SimulatorOptions } from './server';
import { createSimulator } from './server';

/**
 * `npm run sim`: the simulator on its own, for `npm start` and for vendors trying their
 * integration. Prints exactly one line once it listens, which scripts wait for.
 *
 * Environment: SIM_PORT (default 4010, `0` for a free port), SIM_SEED, and for Google
 * SIM_GCP_PROVIDER_ID (default `DEMO-local`), SIM_GCP_PRODUCT_DOMAINS (comma-separated),
 * SIM_GCP_PUSH_ENDPOINT, SIM_GCP_PUSH_AUDIENCE, SIM_GCP_PUSH_SERVICE_ACCOUNT,
 * SIM_GCP_SUBSCRIPTION, SIM_GCP_DELIVER (`async`, `sync` or `manual`); for AWS
 * SIM_AWS_PRODUCT_CODES and SIM_AWS_USAGE_DIMENSIONS (comma-separated), SIM_AWS_SELLER_ACCOUNT_ID,
 * SIM_AWS_SQS_ENDPOINT, SIM_AWS_DELIVER, SIM_AWS_SNS_SIGNATURE_VERSION (`1` or `2`),
 * SIM_AWS_REQUESTS_PER_SECOND (`0` turns throttling off), SIM_AWS_PUBLIC_URL.
 */
const DEFAULT_PORT = 4010;

const fail = (message: string): never => {
  console.error(message);
  process.exit(1);
};

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const readAwsOptions = (env: NodeJS.ProcessEnv): AwsSimulatorOptions => {
  const sqsEndpoint = env.SIM_AWS_SQS_ENDPOINT || undefined;
  if (sqsEndpoint && !URL.canParse(sqsEndpoint)) {
    fail(`SIM_AWS_SQS_ENDPOINT must be a URL, not "${sqsEndpoint}"`);
  }
  const publicUrl = env.SIM_AWS_PUBLIC_URL || undefined;
  if (publicUrl && !URL.canParse(publicUrl)) {
    fail(`SIM_AWS_PUBLIC_URL must be a URL, not "${publicUrl}"`);
  }
  const deliver = env.SIM_AWS_DELIVER || undefined;
  if (deliver && !['sync', 'async', 'manual'].includes(deliver)) {
    fail(`SIM_AWS_DELIVER must be sync, async or manual, not "${deliver}"`);
  }
  const signatureVersion = env.SIM_AWS_SNS_SIGNATURE_VERSION || undefined;
  if (signatureVersion && !['1', '2'].includes(signatureVersion)) {
    fail(`SIM_AWS_SNS_SIGNATURE_VERSION must be 1 or 2, not "${signatureVersion}"`);
  }
  const seller = env.SIM_AWS_SELLER_ACCOUNT_ID || undefined;
  if (seller && !/^\d{12}$/.test(seller)) {
    fail(`SIM_AWS_SELLER_ACCOUNT_ID must be 12 digits, not "${seller}"`);
  }
  const rawRps = env.SIM_AWS_REQUESTS_PER_SECOND || undefined;
  const rps = rawRps === undefined ? undefined : Number(rawRps);
  if (rps !== undefined && (!Number.isFinite(rps) || rps < 0)) {
    fail(`SIM_AWS_REQUESTS_PER_SECOND must be a number, 0 or more, not "${rawRps}"`);
  }
  const codes = list(env.SIM_AWS_PRODUCT_CODES);
  const dimensions = list(env.SIM_AWS_USAGE_DIMENSIONS);
  return {
    ...(codes.length
      ? {
          products: codes.map((code) => ({
            code,
            ...(dimensions.length ? { usageDimensions: dimensions } : {}),
          })),
        }
      : {}),
    ...(seller ? { sellerAccountId: seller } : {}),
    ...(sqsEndpoint || deliver
      ? {
          sqs: {
            ...(sqsEndpoint ? { endpoint: sqsEndpoint } : {}),
            ...(deliver ? { deliver: deliver as 'sync' | 'async' | 'manual' } : {}),
          },
        }
      : {}),
    ...(signatureVersion ? { snsSignatureVersion: signatureVersion as '1' | '2' } : {}),
    ...(rps !== undefined ? { requestsPerSecond: rps } : {}),
    ...(publicUrl ? { publicUrl } : {}),
  };
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
    aws: readAwsOptions(env),
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
