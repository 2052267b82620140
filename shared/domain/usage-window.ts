import { v5 as uuidv5 } from 'uuid';
import { HOUR_MS } from './time';

/** Namespace of our Service Control operation ids (a fixed, random UUID). */
const OPERATION_NAMESPACE = '6f1b8a3e-5c2d-4e8f-9a7b-3d1c0e2f4a6b';

/**
 * The operation id of one (entitlement, metric, window): UUID version 5, as Google recommends
 * when an id must deduplicate, so a retried report is the same operation.
 */
export const usageOperationId = (
  entitlementId: string,
  metricName: string,
  windowStartEpochMs: number,
): string => uuidv5(`${entitlementId}\n${metricName}\n${windowStartEpochMs}`, OPERATION_NAMESPACE);

/** Hourly windows: each starts where the previous one ended, so reports are contiguous. */
export const hourWindow = (hourStartEpochMs: number) => ({
  startEpochMs: hourStartEpochMs,
  endEpochMs: hourStartEpochMs + HOUR_MS,
});

/**
 * Check errors after which Google says to stop serving the consumer: reporting for it stops and
 * the vendor is told. The codes are Service Control's `CheckError.Code`.
 */
export const STOP_SERVICE_CODES: ReadonlySet<string> = new Set([
  'NOT_FOUND',
  'PERMISSION_DENIED',
  'SERVICE_NOT_ACTIVATED',
  'BILLING_DISABLED',
  'PROJECT_DELETED',
  'PROJECT_INVALID',
  'CONSUMER_INVALID',
  'BILLING_STATUS_UNAVAILABLE',
]);
