import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { MarketplaceError, StoreUnavailableError, ValidationError } from '../../domain/errors';

/** What DynamoDB says about one item of a cancelled transaction, already unmarshalled. */
export interface CancellationReason {
  readonly code: string;
  readonly item: Record<string, unknown> | undefined;
}

interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly $fault?: string;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly Item?: Record<string, AttributeValue>;
  readonly CancellationReasons?: ReadonlyArray<{
    readonly Code?: string;
    readonly Item?: Record<string, AttributeValue>;
  }>;
}

const shape = (error: unknown): SdkErrorShape =>
  typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};

const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionInProgressException',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'AbortError', 'NetworkingError']);

/**
 * Maps what a DynamoDB call threw to the project's errors: ours pass through; DynamoDB
 * refusing a request is a `ValidationError`; anything else the SDK or the network throws means
 * the store cannot serve us now. Missing tables and denied permissions count as unavailable too: they are fixed
 * by operators, and a retryable error keeps the triggering message until then instead of
 * dropping it. Errors that come from neither the SDK nor the network (programming errors,
 * values the marshaller refuses) pass through unchanged. The message never repeats the SDK's,
 * which may quote key values; the SDK error stays as `cause`.
 */
export const toStoreError = (error: unknown, operation: string): Error => {
  if (error instanceof MarketplaceError) return error;
  const { name = 'Error', code, $fault, $metadata } = shape(error);
  if (name === 'ValidationException') {
    return new ValidationError(`DynamoDB refused the ${operation} request`, { cause: error });
  }
  const isServiceError = $metadata?.httpStatusCode !== undefined || $fault !== undefined;
  const isNetworkError =
    (code !== undefined && NETWORK_CODES.has(code)) ||
    NETWORK_NAMES.has(name) ||
    ($metadata !== undefined && $metadata.httpStatusCode === undefined);
  const isCredentialError = name === 'CredentialsProviderError';
  if (isServiceError || isNetworkError || isCredentialError || THROTTLING.has(name)) {
    return new StoreUnavailableError(`DynamoDB ${operation} failed: ${name}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
};

export const isConditionFailure = (error: unknown): boolean =>
  shape(error).name === 'ConditionalCheckFailedException';

export const isTransactionConflict = (error: unknown): boolean =>
  shape(error).name === 'TransactionConflictException';

export const isTransactionCanceled = (error: unknown): boolean =>
  shape(error).name === 'TransactionCanceledException';

/**
 * Converts an AttributeValue to plain data. Error payloads bypass the document client's
 * unmarshalling, and this keeps them from crossing the port raw.
 */
export const fromAttributeValue = (value: AttributeValue): unknown => {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return fromAttributeMap(value.M);
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.B !== undefined) return value.B;
  if (value.BS !== undefined) return new Set(value.BS);
  return undefined;
};

export const fromAttributeMap = (map: Record<string, AttributeValue>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(map).map(([key, value]) => [key, fromAttributeValue(value)]));

/** The item a failed condition saw, when the engine returned it (`ALL_OLD`). */
export const conditionFailureItem = (error: unknown): Record<string, unknown> | undefined => {
  const item = shape(error).Item;
  return item ? fromAttributeMap(item) : undefined;
};

/** Per-item reasons of a cancelled transaction, in the order the items were sent. */
export const cancellationReasons = (error: unknown): CancellationReason[] | undefined =>
  shape(error).CancellationReasons?.map((reason) => ({
    code: reason.Code ?? 'None',
    item: reason.Item ? fromAttributeMap(reason.Item) : undefined,
  }));
