import type { Request, Response } from '@google-cloud/functions-framework';
import { headersOf, queryOf } from './http-exchange';
import type { VendorApiRequest, VendorApiResponse } from './http-exchange';

/**
 * The body's bytes. The Functions Framework has read and parsed every body that came with a
 * content type before the function runs (its limit is far above ours), keeping the bytes as
 * `rawBody`; a body without a content type is still in the stream. That one is read through, to
 * let the connection be answered, keeping only enough to know it is too large.
 */
const bodyOf = async (req: Request, maxBytes: number): Promise<Buffer> => {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  if (req.readableEnded) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (kept <= maxBytes) {
      chunks.push(chunk);
      kept += chunk.length;
    }
  }
  return Buffer.concat(chunks);
};

/** The request an Express request of the Functions Framework stands for. */
export const requestOfFunctionsFramework = async (
  req: Request,
  maxBytes: number,
): Promise<VendorApiRequest> => {
  const url = req.originalUrl || req.url;
  const separator = url.indexOf('?');
  return {
    method: req.method,
    path: separator < 0 ? url : url.slice(0, separator),
    query: queryOf(separator < 0 ? '' : url.slice(separator + 1)),
    headers: headersOf(req.headers),
    body: await bodyOf(req, maxBytes),
  };
};

export const sendFunctionsFrameworkResponse = (
  res: Response,
  response: VendorApiResponse,
): void => {
  res.status(response.status).set(response.headers).send(response.body);
};
