/**
 * The vendor API's own request and response shapes: what each platform's entry point turns its
 * trigger into (an API Gateway HTTP API event, an Express request) and back, so that routing,
 * authentication and validation are written once for every cloud.
 */

export interface VendorApiRequest {
  readonly method: string;
  /**
   * The path as the platform passes it: percent-encoded where it keeps the encoding (Cloud Run),
   * decoded where it does not (API Gateway HTTP APIs), hence ids are taken whole from what
   * follows a route's prefix, slashes included.
   */
  readonly path: string;
  /** Each query parameter with every value it was given, in order. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body's bytes exactly as sent; empty when there is none. */
  readonly body: Buffer;
}

export interface VendorApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The query parameters of a raw query string (`a=1&b=2`, without the `?`). */
export const queryOf = (rawQueryString: string): Record<string, string[]> => {
  // No prototype: a parameter named `__proto__` or `constructor` is a name like any other.
  const query = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    (query[name] ??= []).push(value);
  }
  return query;
};

/** Header names lower-cased, repeated headers joined as HTTP joins them. */
export const headersOf = (
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): Record<string, string> => {
  const normalised = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : value.join(', ');
    const key = name.toLowerCase();
    normalised[key] = normalised[key] === undefined ? text : `${normalised[key]}, ${text}`;
  }
  return normalised;
};
