import { MarketplaceError } from '../../../domain/errors';

/** The machine-readable `error.code` of every answer that is not a success. */
export const ApiErrorCode = {
  invalidRequest: 'invalid_request',
  invalidJson: 'invalid_json',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  conflict: 'conflict',
  alreadyLinked: 'already_linked',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  unavailable: 'unavailable',
  internal: 'internal',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** Where in the request a problem is (`query.limit`, `body.records[3]`) and what it is. */
export interface ApiErrorDetail {
  readonly path: string;
  readonly message: string;
}

/** The one shape of every error the API answers. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    readonly details?: readonly ApiErrorDetail[];
  };
}

/**
 * A request the API refuses, with the status and code to answer. The message is written for
 * the caller: it never carries an internal error's text.
 */
export class VendorApiError extends MarketplaceError {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: readonly ApiErrorDetail[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    options: {
      readonly details?: readonly ApiErrorDetail[];
      readonly headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    super(message, { retryable: status === 503 });
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}
