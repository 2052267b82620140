import type { IncomingMessage } from 'node:http';
import { simError } from './http-error';

/** Service Control's own request limit, and plenty for everything else. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request body parsed as JSON; `undefined` when empty. */
export const readJson = (request: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) reject(simError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
        refused = true;
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      if (refused) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(
          simError(
            400,
            `Invalid JSON payload received. ${error instanceof Error ? error.message : ''}`.trim(),
          ),
        );
      }
    });
  });
