/**
 * An answer other than success, thrown from anywhere in a route and written as is. Each API
 * builds its own body (Google's `{"error":{code,message,status}}`, later AWS's `__type`), so
 * the server never has to know a cloud's error format.
 */
export class SimHttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    body: unknown,
    options: { message?: string; headers?: Record<string, string> } = {},
  ) {
    super(options.message ?? `HTTP ${status}`);
    this.name = new.target.name;
    this.status = status;
    this.body = body;
    this.headers = options.headers ?? {};
  }
}

// Canonical names in the body, so every error the simulator writes reads alike.
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'FAILED_PRECONDITION',
  413: 'PAYLOAD_TOO_LARGE',
  500: 'INTERNAL',
};

/** An error outside a cloud's API: `{"error":{"code":<status>,"message":...,"status":...}}`. */
export const simError = (status: number, message: string): SimHttpError =>
  new SimHttpError(
    status,
    { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } },
    { message },
  );
