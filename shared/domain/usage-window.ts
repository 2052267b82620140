import { v5 as uuidv5 } from 'uuid';
import { HOUR_MS, hourStartEpochMs } from './time';

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

/** AWS takes a previous month's usage only until 06:00 UTC on the 1st (the month-end rule). */
export const AWS_MONTH_END_GRACE_MS = 6 * HOUR_MS;

/** AWS takes an ended subscription's final usage for about an hour after its end. */
export const AWS_FINAL_RECORDS_MS = HOUR_MS;

/**
 * How long after an hour starts the AWS metering run has sent what closed before it: it runs 5
 * minutes past every hour (serverless.yml), and is given 5 more to send.
 */
const AWS_METERING_RUN_MS = 10 * 60 * 1_000;

/**
 * When the AWS metering run has sent, at the latest, an hour that takes usage at `nowEpochMs`:
 * the run after the hour closes, or, for an hour closed already, the run after the next hour
 * starts (the one of this hour may have passed).
 */
export const awsSendByEpochMs = (hourStart: number, nowEpochMs: number): number => {
  const closedAt = hourStart + HOUR_MS;
  const next = nowEpochMs <= closedAt ? closedAt : hourStartEpochMs(nowEpochMs - 1) + HOUR_MS;
  return next + AWS_METERING_RUN_MS;
};

const monthStartEpochMs = (epochMs: number): number => {
  const at = new Date(epochMs);
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
};

/** Why AWS will refuse an hour's usage when it is sent, and from when AWS refuses it. */
export interface AwsSendRefusal {
  readonly reason: 'month_closed' | 'final_records_over';
  readonly sinceEpochMs: number;
}

/**
 * Whether AWS will still take the usage of the hour starting at `hourStartEpochMs`, taken in at
 * `nowEpochMs`, by the time the metering run sends it (see {@link awsSendByEpochMs}):
 * - `month_closed`: the hour is of a month before the send's, and the send comes after 06:00
 *   UTC on the 1st;
 * - `final_records_over`: the purchase ended at `endedAtEpochMs` and the send comes more than
 *   {@link AWS_FINAL_RECORDS_MS} after.
 *
 * @returns `null` when AWS will take it (its 24-hour window is checked with the window's own
 * setting, on both clouds).
 */
export const awsSendRefusal = (
  hourStart: number,
  nowEpochMs: number,
  endedAtEpochMs: number | null,
): AwsSendRefusal | null => {
  const sendBy = awsSendByEpochMs(hourStart, nowEpochMs);
  const monthStart = monthStartEpochMs(sendBy);
  if (hourStart < monthStart && sendBy > monthStart + AWS_MONTH_END_GRACE_MS) {
    return { reason: 'month_closed', sinceEpochMs: monthStart + AWS_MONTH_END_GRACE_MS };
  }
  if (endedAtEpochMs !== null && sendBy > endedAtEpochMs + AWS_FINAL_RECORDS_MS) {
    return { reason: 'final_records_over', sinceEpochMs: endedAtEpochMs + AWS_FINAL_RECORDS_MS };
  }
  return null;
};
