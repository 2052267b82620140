import { createHash } from 'node:crypto';
import { clientError } from './aws-errors';
import type { EmptyPages } from './aws-options';
import type { AwsMarketplace } from './marketplace';
import type { ContractValue, License } from './model';

/**
 * `AWSMPEntitlementService.GetEntitlements`: a subscription's contract dimensions, one
 * entitlement each, while the subscription lasts (none once it ended, as issues #44/#57 of the
 * AWS sample report). Filter values are OR'ed within a key and AND'ed across keys. Pages hold
 * up to `MaxResults` (1–25, default 25) and may be empty yet carry a `NextToken`, as the model
 * warns; `emptyPages` says where the simulator puts such pages.
 */
export const FILTER_KEYS = [
  'CUSTOMER_IDENTIFIER',
  'CUSTOMER_AWS_ACCOUNT_ID',
  'DIMENSION',
  'LICENSE_ARN',
] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

export const MAX_ENTITLEMENT_RESULTS = 25;

export interface EntitlementValue {
  readonly IntegerValue?: number;
  readonly DoubleValue?: number;
  readonly BooleanValue?: boolean;
  readonly StringValue?: string;
}

export interface Entitlement {
  readonly ProductCode: string;
  readonly Dimension: string;
  readonly CustomerIdentifier?: string;
  readonly CustomerAWSAccountId: string;
  readonly LicenseArn?: string;
  readonly Value: EntitlementValue;
  /** Epoch seconds. */
  readonly ExpirationDate: number;
}

export interface GetEntitlementsResult {
  readonly Entitlements: Entitlement[];
  readonly NextToken?: string;
}

const invalidParameter = (message: string) => clientError('InvalidParameterException', message);

export const entitlementValue = (value: ContractValue): EntitlementValue => {
  if (typeof value === 'boolean') return { BooleanValue: value };
  if (typeof value === 'string') return { StringValue: value };
  return Number.isInteger(value) ? { IntegerValue: value } : { DoubleValue: value };
};

/** A license's entitlements: legacy ones name the CustomerIdentifier, new ones the LicenseArn. */
export const entitlementsOf = (license: License): Entitlement[] =>
  license.status === 'active' || license.status === 'unsubscribe-pending'
    ? Object.keys(license.contract)
        .sort()
        .map((dimension) => ({
          ProductCode: license.productCode,
          Dimension: dimension,
          ...(license.legacy ? { CustomerIdentifier: license.customerIdentifier } : {}),
          CustomerAWSAccountId: license.customerAWSAccountId,
          ...(license.legacy ? {} : { LicenseArn: license.arn }),
          Value: entitlementValue(license.contract[dimension]!),
          ExpirationDate: Math.floor(license.contractExpiresAtMs / 1000),
        }))
    : [];

const FIELD_OF: Readonly<Record<FilterKey, keyof Entitlement>> = {
  CUSTOMER_IDENTIFIER: 'CustomerIdentifier',
  CUSTOMER_AWS_ACCOUNT_ID: 'CustomerAWSAccountId',
  DIMENSION: 'Dimension',
  LICENSE_ARN: 'LicenseArn',
};

interface PageToken {
  /** The query the token belongs to. */
  readonly q: string;
  /** The offset of the next entitlement. */
  readonly o: number;
  /** The empty page before this offset was already answered. */
  readonly e: boolean;
}

const encodeToken = (token: PageToken): string =>
  Buffer.from(JSON.stringify(token)).toString('base64url');

const decodeToken = (text: string, query: string): PageToken => {
  try {
    const token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as PageToken;
    if (token.q === query && Number.isInteger(token.o) && token.o >= 0) return token;
  } catch {
    // Answered below as AWS would.
  }
  throw invalidParameter('The NextToken is invalid or belongs to another request.');
};

const readFilter = (raw: unknown): Partial<Record<FilterKey, readonly string[]>> => {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidParameter('Filter must map filter names to lists of values.');
  }
  const filter: Partial<Record<FilterKey, readonly string[]>> = {};
  for (const [key, values] of Object.entries(raw)) {
    if (!(FILTER_KEYS as readonly string[]).includes(key)) {
      throw invalidParameter(
        `Unknown filter name ${key}; filter names: ${FILTER_KEYS.join(', ')}.`,
      );
    }
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      values.some((v) => typeof v !== 'string' || v === '')
    ) {
      throw invalidParameter(`Filter ${key} must be a non-empty list of non-empty strings.`);
    }
    filter[key as FilterKey] = values as string[];
  }
  if (filter.CUSTOMER_IDENTIFIER && filter.CUSTOMER_AWS_ACCOUNT_ID) {
    throw invalidParameter(
      'CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID are mutually exclusive; filter by one of them.',
    );
  }
  return filter;
};

export const getEntitlements = (
  body: unknown,
  deps: { readonly marketplace: AwsMarketplace; readonly emptyPages: EmptyPages },
): GetEntitlementsResult => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw clientError('SerializationException', 'Expected a JSON object.');
  }
  const input = body as Record<string, unknown>;
  if (typeof input.ProductCode !== 'string' || input.ProductCode === '') {
    throw invalidParameter('ProductCode is required.');
  }
  const product = deps.marketplace.product(input.ProductCode);
  if (!product) throw invalidParameter(`Invalid product code: ${input.ProductCode}.`);
  const filter = readFilter(input.Filter);
  const maxResults = input.MaxResults ?? MAX_ENTITLEMENT_RESULTS;
  if (
    typeof maxResults !== 'number' ||
    !Number.isInteger(maxResults) ||
    maxResults < 1 ||
    maxResults > MAX_ENTITLEMENT_RESULTS
  ) {
    throw invalidParameter(`MaxResults must be an integer from 1 to ${MAX_ENTITLEMENT_RESULTS}.`);
  }
  const query = createHash('sha256')
    .update(JSON.stringify([product.code, Object.entries(filter).sort()]))
    .digest('hex')
    .slice(0, 16);
  if (
    input.NextToken !== undefined &&
    input.NextToken !== null &&
    typeof input.NextToken !== 'string'
  ) {
    throw invalidParameter('NextToken must be a string.');
  }
  const token: PageToken =
    typeof input.NextToken === 'string' && input.NextToken !== ''
      ? decodeToken(input.NextToken, query)
      : { q: query, o: 0, e: false };

  const matching = deps.marketplace
    .licenses()
    .filter((license) => license.productCode === product.code)
    .flatMap(entitlementsOf)
    .filter((entitlement) =>
      Object.entries(filter).every(([key, values]) =>
        values.includes(String(entitlement[FIELD_OF[key as FilterKey]] ?? '')),
      ),
    );

  const emptyFirst =
    deps.emptyPages === 'interleaved' || (deps.emptyPages === 'leading' && token.o === 0);
  if (emptyFirst && !token.e && token.o < matching.length) {
    return { Entitlements: [], NextToken: encodeToken({ q: query, o: token.o, e: true }) };
  }
  const end = token.o + maxResults;
  return {
    Entitlements: matching.slice(token.o, end),
    ...(end < matching.length ? { NextToken: encodeToken({ q: query, o: end, e: false }) } : {}),
  };
};
