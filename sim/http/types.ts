import type { IncomingHttpHeaders } from 'node:http';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One inbound request as a route sees it. */
export interface SimRequest {
  readonly method: string;
  readonly url: URL;
  /** Path parameters named in the route pattern, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON, `undefined` when empty; a body that is not JSON answers 400. */
  json(): Promise<unknown>;
}

/** What a route answers; the server writes `body` as JSON, or `text` as it is. */
export interface SimResponse {
  readonly status: number;
  readonly body?: unknown;
  /** A body that is not JSON (a PEM certificate, XML); give its `content-type` in `headers`. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SimRoute {
  readonly method: HttpMethod;
  /** A path with `{name}` segments, e.g. `/v1/providers/{provider}/entitlements/{id}:approve`. */
  readonly pattern: string;
  /**
   * The marketplace API the route belongs to (`gcp`, `aws`): that cloud's guard
   * (authentication) and the configured faults run before it, in that cloud's error format.
   * `/_sim/*` and certificate routes leave it unset and are never faulted.
   */
  readonly api?: string;
  handle(request: SimRequest): Promise<SimResponse> | SimResponse;
}
