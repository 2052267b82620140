import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { verifyWebhookSignature } from '../../shared/adapters/webhooks';
import type { VendorEventEnvelope } from '../../shared/domain/vendor-events';
import { listenOnLoopback } from './loopback';

/** How the receiver answers one request: a status, or no answer at all until it closes. */
export type ReceiverAnswer = { readonly status: number; readonly location?: string } | 'hang';

export interface ReceivedWebhook {
  readonly event: VendorEventEnvelope;
  /** The raw body, exactly as signed. */
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
  /** What the receiver answered. */
  readonly answer: ReceiverAnswer;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every request whose signature held, in the order they arrived. */
  readonly received: ReceivedWebhook[];
  /** Requests whose signature did not hold (answered 401), with the reason. */
  readonly refused: string[];
  /** The ids of the events this receiver answered with a 2xx, in order. */
  accepted(): string[];
  /** How to answer from now on: one answer for all, or one per event. */
  answer(with_: ReceiverAnswer | ((event: VendorEventEnvelope) => ReceiverAnswer)): void;
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * The vendor's app on this machine: a real HTTP server on a free port that checks every
 * webhook's signature with the library's own `verifyWebhookSignature`, as the vendor would,
 * against `secrets` and the time `nowEpochMs` gives (the test's clock).
 */
export const startWebhookReceiver = async (options: {
  readonly secrets: readonly string[];
  readonly nowEpochMs: () => number;
}): Promise<WebhookReceiver> => {
  const received: ReceivedWebhook[] = [];
  const refused: string[] = [];
  let answerOf: (event: VendorEventEnvelope) => ReceiverAnswer = () => ({ status: 204 });

  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      try {
        verifyWebhookSignature({
          header: request.headers['marketplace-signature'] as string | undefined,
          body,
          secrets: options.secrets,
          nowEpochMs: options.nowEpochMs(),
        });
      } catch (error) {
        refused.push(error instanceof Error ? error.message : String(error));
        response.writeHead(401).end();
        return;
      }
      const event = JSON.parse(body) as VendorEventEnvelope;
      const answer = answerOf(event);
      received.push({ event, body, headers: request.headers, answer });
      if (answer === 'hang') return;
      response
        .writeHead(answer.status, answer.location ? { location: answer.location } : {})
        .end('{"note":"a body the sender must neither read nor keep"}');
    })();
  });
  const { url } = await listenOnLoopback(server);

  return {
    url: `${url}/hooks/marketplace`,
    received,
    refused,
    accepted: () =>
      received
        .filter((r) => r.answer !== 'hang' && r.answer.status >= 200 && r.answer.status < 300)
        .map((r) => r.event.id),
    answer: (with_) => {
      answerOf = typeof with_ === 'function' ? with_ : () => with_;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
