import { invalidArgument } from './google-errors';

/**
 * List paging as Google's APIs do it: an opaque `nextPageToken`, present only while more
 * items remain. The token remembers the last item's creation order, so items created or
 * deleted between two calls neither repeat nor shift the rest; and the filter it was made for,
 * since reusing it with another filter is an error.
 */
export interface PageRequest {
  readonly pageSize: string | null;
  readonly pageToken: string | null;
  /** Which list the token belongs to. */
  readonly kind: string;
  readonly filter?: string;
  readonly defaultSize: number;
  readonly maxSize: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken?: string;
}

interface TokenBody {
  readonly k: string;
  readonly s: number;
  readonly f: string;
}

const pageSizeOf = (request: PageRequest): number => {
  if (request.pageSize === null || request.pageSize === '') return request.defaultSize;
  if (!/^-?\d+$/.test(request.pageSize)) {
    throw invalidArgument(`Invalid value at 'page_size' (TYPE_INT32), "${request.pageSize}"`);
  }
  const size = Number(request.pageSize);
  if (size < 0) throw invalidArgument('page_size must not be negative.');
  if (size === 0) return request.defaultSize;
  return Math.min(size, request.maxSize);
};

const afterSeqOf = (request: PageRequest): number => {
  if (!request.pageToken) return 0;
  let body: TokenBody | undefined;
  try {
    body = JSON.parse(Buffer.from(request.pageToken, 'base64url').toString('utf8')) as TokenBody;
  } catch {
    body = undefined;
  }
  if (!body || body.k !== request.kind || typeof body.s !== 'number') {
    throw invalidArgument('Invalid page token.');
  }
  if (body.f !== (request.filter ?? '')) {
    throw invalidArgument('The page token was made for another filter.');
  }
  return body.s;
};

export const paginate = <T extends { readonly seq: number }>(
  items: readonly T[],
  request: PageRequest,
): Page<T> => {
  const size = pageSizeOf(request);
  const afterSeq = afterSeqOf(request);
  const rest = [...items].sort((a, b) => a.seq - b.seq).filter((item) => item.seq > afterSeq);
  const page = rest.slice(0, size);
  const last = page[page.length - 1];
  if (rest.length <= size || !last) return { items: page };
  const token: TokenBody = { k: request.kind, s: last.seq, f: request.filter ?? '' };
  return {
    items: page,
    nextPageToken: Buffer.from(JSON.stringify(token)).toString('base64url'),
  };
};
