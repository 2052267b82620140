import type { ApiScope } from '../../../config/vendor-config';
import type { Logger } from '../../../ports/logger';
import type { ApiCaller } from './api-key';
import type { VendorApiRequest, VendorApiResponse } from './http-exchange';
import type { PathTemplate } from './route-path';
import type { VendorApiDeps } from './vendor-api-deps';

/** What a route's handler gets once the request was authenticated, routed and scoped. */
export interface RouteContext {
  readonly request: VendorApiRequest;
  /** The path parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly caller: ApiCaller;
  readonly deps: VendorApiDeps;
  /** Bound to the request. */
  readonly logger: Logger;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: PathTemplate;
  /** The scope the caller's key must hold. */
  readonly scope: ApiScope;
  /**
   * Whether the route reads a JSON body (the handler parses it). One that does not refuses any
   * body but an empty one or `{}` before the handler runs.
   */
  readonly takesBody: boolean;
  readonly handle: (context: RouteContext) => Promise<VendorApiResponse>;
}
