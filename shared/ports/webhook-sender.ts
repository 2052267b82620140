/**
 * One of the vendor's webhook URLs. `id` is short, stable and safe to log and store (a hash of
 * the URL, computed in config); the URL itself may carry a token and is neither.
 */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
}

/** One POST of one event to one endpoint. */
export interface WebhookRequest {
  readonly endpoint: WebhookEndpoint;
  /** The event's id, sent in a header so the vendor's app can drop a repeat. */
  readonly messageId: string;
  /** The JSON body exactly as it is signed and sent. */
  readonly body: string;
  /** A shorter wait than the sender's own, for an attempt someone is waiting on. */
  readonly timeoutMs?: number;
}

/**
 * What the endpoint did. `answered` whatever the status (a 3xx, 4xx or 5xx too): the caller
 * decides what counts as delivered. `no_answer` when no status came back in time: a timeout, a
 * refused or reset connection, a name that does not resolve.
 */
export type WebhookResult =
  | { readonly kind: 'answered'; readonly statusCode: number; readonly latencyMs: number }
  | {
      readonly kind: 'no_answer';
      readonly reason: 'timeout' | 'network';
      /** Short and safe to log: never a response body, never the URL. */
      readonly error: string;
      readonly latencyMs: number;
    };

/**
 * Delivers webhooks to the vendor's app: signs and POSTs one body to one endpoint and reports
 * what happened. An endpoint's failure is a result, never an exception, so that one bad
 * endpoint cannot stop the delivery to the others.
 */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResult>;
}
