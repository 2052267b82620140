import { TenantLinkConflictError } from '../../../app/link-tenant-account';
import {
  MarketplaceError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../../domain/errors';
import { ApiErrorCode, VendorApiError } from './api-error';
import type { ApiErrorBody } from './api-error';
import type { VendorApiResponse } from './http-exchange';

/** Every answer is JSON for a program, never cached on the way, never sniffed as something else. */
const BASE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** How long a client should wait before retrying an answer 503. */
const RETRY_AFTER_SECONDS = '1';

export const jsonResponse = (
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): VendorApiResponse => ({
  status,
  headers: { ...BASE_HEADERS, ...headers },
  body: JSON.stringify(body),
});

const errorBody = (error: VendorApiError): ApiErrorBody => ({
  error: {
    code: error.code,
    message: error.message,
    ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
  },
});

/**
 * The API's refusal for any error, chosen by `instanceof` in the one hierarchy: the caller's own
 * mistakes say what is wrong; anything else says only whether retrying may help (`unavailable`)
 * or not (`internal`), never what failed inside.
 */
export const apiErrorOf = (error: unknown): VendorApiError => {
  if (error instanceof VendorApiError) return error;
  if (error instanceof TenantLinkConflictError) {
    return new VendorApiError(
      409,
      error.reason === 'already_linked' ? ApiErrorCode.alreadyLinked : ApiErrorCode.conflict,
      error.message,
    );
  }
  if (error instanceof NotFoundError) {
    return new VendorApiError(404, ApiErrorCode.notFound, error.message);
  }
  if (error instanceof UnauthorizedError) {
    return new VendorApiError(401, ApiErrorCode.unauthorized, 'a valid API key is required', {
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  if (error instanceof ValidationError) {
    // Written for the caller (an id too long to be a key, for instance); its path names the
    // store's input, not the request's, so it is not passed on as a detail.
    return new VendorApiError(400, ApiErrorCode.invalidRequest, error.message);
  }
  if (error instanceof MarketplaceError && error.retryable) {
    return new VendorApiError(
      503,
      ApiErrorCode.unavailable,
      'the service is briefly unavailable; retry the request',
      { headers: { 'retry-after': RETRY_AFTER_SECONDS } },
    );
  }
  return new VendorApiError(500, ApiErrorCode.internal, 'the request failed on our side');
};

export const errorResponse = (error: VendorApiError): VendorApiResponse =>
  jsonResponse(error.status, errorBody(error), error.headers);
