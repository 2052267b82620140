import { z } from 'zod';
import { ValidationError } from '../../../domain/errors';
import { MAX_KEY_BYTES } from '../../../domain/limits';
import { CLOUDS, ENTITLEMENT_STATUSES } from '../../../domain/model';
import type { Cloud } from '../../../domain/model';
import { refOfVendorId } from '../../../domain/vendor-events';
import { ApiErrorCode, VendorApiError } from './api-error';
import type { ApiErrorDetail } from './api-error';

/** Where a value came from, the first part of an error detail's path. */
export type InputPart = 'path' | 'query' | 'body';

/** Enough details to fix a request; a batch of thousands of mistakes is not listed in full. */
const MAX_DETAILS = 20;

const pathOf = (part: InputPart, path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : `${text}.${String(key)}`),
    part,
  );

export const invalidRequest = (
  message: string,
  details: readonly ApiErrorDetail[] = [],
): VendorApiError =>
  new VendorApiError(400, ApiErrorCode.invalidRequest, message, {
    details: details.slice(0, MAX_DETAILS),
  });

/**
 * Parses one part of the request with its schema.
 *
 * @throws VendorApiError 400 `invalid_request` with a detail per problem.
 */
export const parseInput = <T extends z.ZodType>(
  schema: T,
  value: unknown,
  part: InputPart,
): z.infer<T> => {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidRequest(
    `the request ${part} is invalid`,
    result.error.issues.flatMap((issue) =>
      // One detail per unknown name, at its own path: a typo is found where it is.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({
            path: pathOf(part, [...issue.path, key]),
            message:
              part === 'query'
                ? 'is not a parameter of this request'
                : 'is not a field of this request',
          }))
        : [{ path: pathOf(part, issue.path), message: issue.message }],
    ),
  );
};

/**
 * The query as one value per parameter, refusing repeated ones: `?status=a&status=b` means
 * nothing here, and taking either value silently would hide the caller's mistake. Unknown
 * parameters are left to the route's strict schema.
 */
export const singleValues = (
  query: Readonly<Record<string, readonly string[]>>,
): Record<string, string> => {
  const values = Object.create(null) as Record<string, string>;
  const repeated: ApiErrorDetail[] = [];
  for (const [name, all] of Object.entries(query)) {
    if (all.length > 1)
      repeated.push({ path: `query.${name}`, message: 'is given more than once' });
    values[name] = all[0] ?? '';
  }
  if (repeated.length > 0) throw invalidRequest('the request query is invalid', repeated);
  return { ...values };
};

// Control characters (C0, DEL, C1) never belong in an id.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const encoder = new TextEncoder();

/** Text that can be a store key: not empty, no control characters, no surrounding spaces. */
const keyText = (maxBytes: number) =>
  z
    .string('must be a string')
    .min(1, 'must not be empty')
    .refine(
      (value) => encoder.encode(value).length <= maxBytes,
      `must be at most ${maxBytes} bytes`,
    )
    .refine(
      (value) => !CONTROL_CHARACTERS.test(value) && value.trim() === value,
      'must not hold control characters or surrounding spaces',
    );

/** A vendor id, `<cloud>:<marketplace id>`, as text. */
export const vendorIdTextSchema = keyText(MAX_KEY_BYTES + 8).refine(
  (value) => refOfVendorId(value) !== null,
  `must be a vendor id, <cloud>:<marketplace id> with cloud ${CLOUDS.join(' or ')}`,
);

/** A vendor id parsed into the record it names. */
export const vendorIdSchema = vendorIdTextSchema.transform(
  (value) => refOfVendorId(value) as { cloud: Cloud; id: string },
);

/**
 * A tenant id: the vendor's own, or the one a signup made (a UUID). No `/`, so that it stays one
 * path segment on every platform (API Gateway decodes `%2F` before the function sees it).
 */
export const tenantIdSchema = keyText(256).refine(
  (value) => !value.includes('/'),
  'must not contain "/"',
);

/** An event id as the log shows it. */
export const eventIdSchema = keyText(MAX_KEY_BYTES);

export const entitlementStatusSchema = z.enum(
  ENTITLEMENT_STATUSES,
  `must be one of ${ENTITLEMENT_STATUSES.join(', ')}`,
);

/** `limit` of a listing: 1 to 100, 50 unless given. */
export const limitSchema = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')
  .transform(Number)
  .pipe(z.number().min(1, 'must be from 1 to 100').max(100, 'must be from 1 to 100'))
  .default(50);

/** An opaque cursor from an earlier page; printable ASCII, as every listing issues. */
export const cursorSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,8192}$/, 'must be the nextCursor of an earlier page');

/** An instant: ISO 8601 with a time zone, as epoch milliseconds. */
export const instantSchema = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })
  .transform((value) => Date.parse(value));

/**
 * Runs a listing, turning the store's refusal of a cursor (one no listing of this kind issued)
 * into the caller's mistake at `query.cursor`.
 */
export const withCursor = async <T>(
  list: () => Promise<T>,
  part: InputPart = 'query',
): Promise<T> => {
  try {
    return await list();
  } catch (error) {
    if (error instanceof ValidationError && error.path === 'page.cursor') {
      throw invalidRequest('the cursor is not valid for this listing', [
        { path: `${part}.cursor`, message: 'is not a cursor this listing returned' },
      ]);
    }
    throw error;
  }
};
