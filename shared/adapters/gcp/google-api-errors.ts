import { MarketplaceApiError } from '../../domain/errors';

interface GoogleErrorShape {
  readonly status?: number;
  readonly response?: { status?: number; data?: { error?: { status?: string; message?: string } } };
  readonly code?: string | number;
}

/**
 * A Google API failure as the port's error: the HTTP status and Google's canonical code
 * (`FAILED_PRECONDITION`, `NOT_FOUND` ...) travel with it; only throttling, server errors and
 * dropped connections are retryable. The message names the call, never the response body.
 */
export const toMarketplaceApiError = (error: unknown, call: string): MarketplaceApiError => {
  const shape = (error ?? {}) as GoogleErrorShape;
  const status =
    shape.response?.status ?? (typeof shape.status === 'number' ? shape.status : undefined);
  const code = shape.response?.data?.error?.status;
  const retryable = status === undefined || status === 429 || status >= 500;
  const why = status
    ? ` with HTTP ${status}`
    : typeof shape.code === 'string'
      ? ` (${shape.code})`
      : '';
  return new MarketplaceApiError(`${call} failed${why}`, {
    cause: error,
    retryable,
    ...(status === undefined ? {} : { status }),
    ...(code ? { code } : status === 404 ? { code: 'NOT_FOUND' } : {}),
  });
};
