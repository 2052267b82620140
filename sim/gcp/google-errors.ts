import { SimHttpError } from '../http/http-error';

/**
 * Google's JSON error format, `{"error":{"code":<http>,"message":...,"status":<canonical>}}`,
 * which googleapis surfaces as a GaxiosError carrying `status` and the message.
 */
export type GoogleStatus =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'UNIMPLEMENTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** gRPC code numbers, which Service Control puts in `reportErrors[].status.code`. */
export const GRPC_CODE: Readonly<Record<GoogleStatus, number>> = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

export const googleError = (
  code: number,
  status: GoogleStatus,
  message: string,
  headers?: Record<string, string>,
): SimHttpError =>
  new SimHttpError(code, { error: { code, message, status } }, { message, headers });

export const invalidArgument = (message: string): SimHttpError =>
  googleError(400, 'INVALID_ARGUMENT', message);

/** What the Procurement API says when an action does not fit the resource's state. */
export const failedPrecondition = (message = 'Precondition check failed.'): SimHttpError =>
  googleError(400, 'FAILED_PRECONDITION', message);

export const notFound = (message: string): SimHttpError => googleError(404, 'NOT_FOUND', message);

export const unauthenticated = (): SimHttpError =>
  googleError(
    401,
    'UNAUTHENTICATED',
    'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
  );

export const permissionDenied = (message: string): SimHttpError =>
  googleError(403, 'PERMISSION_DENIED', message);

export const resourceExhausted = (): SimHttpError =>
  googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded (simulated throttling).');

export const unavailable = (): SimHttpError =>
  googleError(503, 'UNAVAILABLE', 'The service is currently unavailable (simulated fault).');

export const unimplemented = (message = 'Method not implemented.'): SimHttpError =>
  googleError(501, 'UNIMPLEMENTED', message);
