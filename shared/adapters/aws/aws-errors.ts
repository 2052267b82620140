import { MarketplaceApiError } from '../../domain/errors';

interface AwsErrorShape {
  readonly name?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Exceptions AWS asks callers to retry with backoff. */
const RETRYABLE = new Set(['ThrottlingException', 'InternalServiceErrorException']);

/**
 * An AWS SDK failure as the port's error: AWS's exception name travels as `code` (it is the
 * API's documented error type), the HTTP status as `status`; throttling, server faults and
 * dropped connections are retryable.
 */
export const toMarketplaceApiError = (error: unknown, call: string): MarketplaceApiError => {
  const shape = (error ?? {}) as AwsErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  const code = shape.name;
  const retryable =
    RETRYABLE.has(code ?? '') || shape.$fault === 'server' || status === undefined || status >= 500;
  return new MarketplaceApiError(`${call} failed${code ? ` (${code})` : ''}`, {
    cause: error,
    retryable,
    ...(status === undefined ? {} : { status }),
    ...(code ? { code } : {}),
  });
};
