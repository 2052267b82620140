import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SqsRecord } from '../sqs-queue';

/**
 * A real HTTP endpoint standing in for the notifications Lambda behind the simulator's SQS
 * queue: it records every Lambda SQS event POSTed to it and answers what the test decides,
 * by default `{"batchItemFailures":[]}` (everything processed).
 */
export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

export interface ReceivedSqsEvent {
  readonly headers: IncomingHttpHeaders;
  readonly event: SqsEvent;
}

export interface SqsAnswer {
  readonly status: number;
  /** Written as JSON unless it is a string. */
  readonly body?: unknown;
}

export type SqsResponder = (event: SqsEvent) => SqsAnswer | Promise<SqsAnswer>;

export interface SqsReceiver {
  readonly url: string;
  readonly received: ReceivedSqsEvent[];
  /** Every record received, in order, redeliveries included. */
  records(): SqsRecord[];
  /** How every later event is answered (a Lambda handler's partial-batch response). */
  respond(responder: SqsResponder): void;
  close(): Promise<void>;
}

/** Lambda's partial-batch response failing the given message ids. */
export const batchItemFailures = (...messageIds: string[]): SqsAnswer => ({
  status: 200,
  body: { batchItemFailures: messageIds.map((itemIdentifier) => ({ itemIdentifier })) },
});

export const createSqsReceiver = async (): Promise<SqsReceiver> => {
  const received: ReceivedSqsEvent[] = [];
  let responder: SqsResponder = () => batchItemFailures();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SqsEvent;
      received.push({ headers: req.headers, event });
      Promise.resolve(responder(event)).then(
        (answer) => {
          const text =
            answer.body === undefined
              ? ''
              : typeof answer.body === 'string'
                ? answer.body
                : JSON.stringify(answer.body);
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sqs`,
    received,
    records: () => received.flatMap((entry) => entry.event.Records),
    respond: (next) => {
      responder = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
