import { randomUUID } from 'node:crypto';
import { SimHttpError } from '../http/http-error';
import type { SimRequest, SimRoute } from '../http/types';
import { AWS_JSON_CONTENT_TYPE, clientError, internalError, throttling } from './aws-errors';

/**
 * The AWS JSON 1.1 protocol as the marketplace services speak it: `POST /` with the operation in
 * `X-Amz-Target` (`AWSMPMeteringService.BatchMeterUsage`), a JSON body, timestamps as epoch
 * seconds, and errors as `{"__type","message"}` with `x-amzn-ErrorType`. An SDK v3 client whose
 * `endpoint` is the simulator's URL works unchanged, with any credentials, signed for the
 * simulator's region.
 */
export const AWS_OPERATIONS = [
  'AWSMPMeteringService.ResolveCustomer',
  'AWSMPMeteringService.BatchMeterUsage',
  'AWSMPMeteringService.MeterUsage',
  'AWSMPEntitlementService.GetEntitlements',
] as const;
export type AwsOperation = (typeof AWS_OPERATIONS)[number];

/** The operation's short name (`BatchMeterUsage`), as counted and recorded. */
export const operationName = (target: string): string => target.split('.').pop() ?? target;

export type OperationHandler = (body: unknown) => unknown;

/** A token bucket per operation: AWS's quotas are per API, per account and region. */
export interface Quota {
  take(operation: string): boolean;
  configure(requestsPerSecond: number): void;
  reset(): void;
}

export const createQuota = (requestsPerSecond: number, nowMs = () => performance.now()): Quota => {
  let rate = requestsPerSecond;
  let buckets = new Map<string, { tokens: number; atMs: number }>();
  return {
    take: (operation) => {
      if (rate <= 0) return true;
      // Real time, not the simulator's clock: a test that freezes time must not run dry.
      const now = nowMs();
      const capacity = Math.max(1, rate);
      const bucket = buckets.get(operation) ?? { tokens: capacity, atMs: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.atMs) / 1000) * rate);
      bucket.atMs = now;
      buckets.set(operation, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
    configure: (next) => {
      rate = next;
      buckets = new Map();
    },
    reset: () => {
      buckets = new Map();
    },
  };
};

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=[^,\s]+,\s*Signature=[0-9a-f]{64}$/;
const SIGNING_SERVICE = 'aws-marketplace';

/**
 * The checks AWS makes before any operation: a SigV4 `Authorization` header scoped to the
 * marketplace service and to the region. The signature itself is not verified, so any
 * credentials do.
 */
export const checkSignature = (request: SimRequest, region: string): void => {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header === '') {
    throw clientError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const match = SIGV4.exec(header);
  if (!match) {
    throw clientError(
      'IncompleteSignatureException',
      'Authorization header requires a SigV4 Credential, SignedHeaders and Signature.',
    );
  }
  const [, scopeRegion, service] = match;
  if (scopeRegion !== region) {
    throw clientError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${scopeRegion}'. The simulated marketplace APIs answer in ${region}.`,
    );
  }
  if (service !== SIGNING_SERVICE) {
    throw clientError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`,
    );
  }
};

export const targetOf = (request: SimRequest): string => {
  const target = request.headers['x-amz-target'];
  return typeof target === 'string' ? target : '';
};

export interface AwsJsonRouteDeps {
  readonly handlers: Readonly<Record<AwsOperation, OperationHandler>>;
  readonly quota: Quota;
  /** Called with every refused call, for the metering ledger. */
  readonly onError?: (operation: string, error: SimHttpError, body: unknown) => void;
}

const withRequestId = (error: SimHttpError, requestId: string): SimHttpError =>
  new SimHttpError(error.status, error.body, {
    message: error.message,
    headers: { ...error.headers, 'x-amzn-requestid': requestId },
  });

export const awsJsonRoute = (deps: AwsJsonRouteDeps): SimRoute => ({
  method: 'POST',
  pattern: '/',
  api: 'aws',
  handle: async (request) => {
    const requestId = randomUUID();
    const target = targetOf(request);
    let body: unknown;
    try {
      const handler = (deps.handlers as Record<string, OperationHandler | undefined>)[target];
      if (!handler) {
        throw clientError(
          'UnknownOperationException',
          target ? `Unknown operation ${target}` : 'The X-Amz-Target header is missing',
        );
      }
      if (!deps.quota.take(target)) throw throttling();
      try {
        body = (await request.json()) ?? {};
      } catch (error) {
        if (error instanceof SimHttpError && error.status === 413) {
          throw clientError('ValidationException', 'Requests must be less than 1 MB in size.');
        }
        throw clientError('SerializationException', 'The request body is not valid JSON.');
      }
      return {
        status: 200,
        body: handler(body),
        headers: { 'content-type': AWS_JSON_CONTENT_TYPE, 'x-amzn-requestid': requestId },
      };
    } catch (error) {
      const answer =
        error instanceof SimHttpError
          ? error
          : internalError(error instanceof Error ? error.message : String(error));
      deps.onError?.(operationName(target), answer, body);
      throw withRequestId(answer, requestId);
    }
  },
});
