import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostJsonOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface PostJsonAnswer {
  readonly status: number;
  /** The answer's body as text, `''` when empty. */
  readonly text: string;
}

/**
 * POSTs a JSON body and resolves to the answer's status and body (no keep-alive agent, see
 * `postJson`): an SQS sink answers a Lambda
 * partial-batch response (`{"batchItemFailures":[...]}`) that decides which messages failed.
 */
export const postJsonForAnswer = (
  url: string,
  body: unknown,
  options: PostJsonOptions,
): Promise<PostJsonAnswer> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const payload = Buffer.from(JSON.stringify(body));
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          ...options.headers,
        },
        timeout: options.timeoutMs,
        signal: options.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });

/**
 * POSTs a JSON body and resolves to the answer's status code; rejects on a network error or
 * timeout. No keep-alive agent: a pooled socket would keep a test process (or `stop()`) waiting.
 */
export const postJson = async (
  url: string,
  body: unknown,
  options: PostJsonOptions,
): Promise<number> => (await postJsonForAnswer(url, body, options)).status;
