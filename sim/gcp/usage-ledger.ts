import type { SimClock } from '../clock';
import { rfc3339 } from '../clock';
import type { GoogleStatus } from './google-errors';
import { GRPC_CODE } from './google-errors';
import type { ConsumerStatus } from './marketplace';

/**
 * What Service Control bills from `services.report`: one row per metric value of every
 * accepted operation. An operation is judged alone; a failed one comes back as a report error
 * inside an HTTP 200, as the real API does, and changes nothing.
 *
 * The checks are those a vendor must get right: a known consumer whose service is active (or
 * was, when the window began), a known metric, int64 values as decimal strings, windows that
 * continue where the previous report for that consumer and metric ended, and an operationId
 * that is either new or repeats the same content (then accepted again but billed once).
 */
export interface BilledUsage {
  readonly serviceName: string;
  readonly operationId: string;
  readonly operationName?: string;
  readonly consumerId: string;
  readonly entitlementId: string;
  readonly plan: string;
  readonly metricName: string;
  /** int64 as a decimal string, as on the wire. */
  readonly value: string;
  readonly startTime: string;
  readonly endTime: string;
  readonly userLabels?: Readonly<Record<string, string>>;
  readonly reportedAt: string;
}

export interface ReportError {
  readonly operationId: string;
  readonly status: { readonly code: number; readonly message: string };
}

export interface RejectedOperation extends ReportError {
  readonly serviceName: string;
  readonly consumerId?: string;
  readonly reportedAt: string;
}

export interface UsageLedger {
  /** Judges one operation; bills it, or says why not. */
  report(
    serviceName: string,
    operation: unknown,
    resolve: (consumerId: string, windowStartMs: number) => ConsumerStatus,
  ): ReportError | undefined;
  billed(): readonly BilledUsage[];
  rejected(): readonly RejectedOperation[];
  reset(): void;
}

export interface UsageLedgerOptions {
  readonly clock: SimClock;
  /** Metric names the service knows; unset, any `<service>/<name>` is known. */
  readonly metrics?: readonly string[];
}

const INT64_MAX = 2n ** 63n - 1n;
const VALUE_KINDS = ['boolValue', 'doubleValue', 'stringValue', 'distributionValue', 'moneyValue'];

class OperationError extends Error {
  readonly status: GoogleStatus;

  constructor(status: GoogleStatus, message: string) {
    super(message);
    this.status = status;
  }
}

const fail = (status: GoogleStatus, message: string): never => {
  throw new OperationError(status, message);
};

const record = (value: unknown, what: string): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : fail('INVALID_ARGUMENT', `${what} must be an object.`);

const timestamp = (value: unknown, field: string): number => {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(ms)
    ? fail('INVALID_ARGUMENT', `${field} must be an RFC 3339 timestamp.`)
    : ms;
};

// The doc example names metrics `example-messaging-service/UsageInGiB` for the service
// `example-messaging-service.gcpmarketplace.example.com`, LAB uses the full service name.
const knownByDefault = (serviceName: string, metricName: string): boolean => {
  const slash = metricName.indexOf('/');
  if (slash <= 0 || slash === metricName.length - 1) return false;
  const prefix = metricName.slice(0, slash);
  return prefix === serviceName || prefix === serviceName.split('.')[0];
};

interface ParsedMetric {
  readonly metricName: string;
  readonly values: readonly string[];
}

export const createUsageLedger = (options: UsageLedgerOptions): UsageLedger => {
  const billed: BilledUsage[] = [];
  const rejected: RejectedOperation[] = [];
  /** operationId → fingerprint of the content billed under it. */
  const operations = new Map<string, string>();
  /** consumer + metric → end of the last billed window. */
  const windows = new Map<string, number>();

  const metrics = (serviceName: string, value: unknown): ParsedMetric[] => {
    if (!Array.isArray(value) || value.length === 0) {
      fail('INVALID_ARGUMENT', 'metricValueSets must list at least one metric.');
    }
    return (value as unknown[]).map((item) => {
      const set = record(item, 'metricValueSets[]');
      const metricName = typeof set.metricName === 'string' ? set.metricName : '';
      const known = options.metrics
        ? options.metrics.includes(metricName)
        : knownByDefault(serviceName, metricName);
      if (!known) {
        fail(
          'INVALID_ARGUMENT',
          `Metric "${metricName}" is not defined for service ${serviceName}.`,
        );
      }
      if (!Array.isArray(set.metricValues) || set.metricValues.length === 0) {
        fail('INVALID_ARGUMENT', `metricValues of "${metricName}" must list at least one value.`);
      }
      const values = (set.metricValues as unknown[]).map((raw) => {
        const metricValue = record(raw, 'metricValues[]');
        const other = VALUE_KINDS.find((kind) => kind in metricValue);
        if (other) {
          fail('INVALID_ARGUMENT', `"${metricName}" takes int64Value only, not ${other}.`);
        }
        const int64 = metricValue.int64Value;
        if (typeof int64 !== 'string' || !/^-?\d+$/.test(int64)) {
          fail(
            'INVALID_ARGUMENT',
            `int64Value of "${metricName}" must be a decimal string, not ${JSON.stringify(int64)}.`,
          );
        }
        const parsed = BigInt(int64 as string);
        if (parsed < 0n)
          fail('INVALID_ARGUMENT', `int64Value of "${metricName}" must not be negative.`);
        if (parsed > INT64_MAX)
          fail('INVALID_ARGUMENT', `int64Value of "${metricName}" overflows int64.`);
        return parsed.toString();
      });
      return { metricName, values };
    });
  };

  const judge = (
    serviceName: string,
    raw: unknown,
    resolve: (consumerId: string, windowStartMs: number) => ConsumerStatus,
  ): void => {
    const operation = record(raw, 'operation');
    const operationId = operation.operationId;
    if (typeof operationId !== 'string' || operationId === '') {
      fail('INVALID_ARGUMENT', 'operationId is required.');
    }
    const consumerId = typeof operation.consumerId === 'string' ? operation.consumerId : '';
    const startMs = timestamp(operation.startTime, 'startTime');
    const endMs = timestamp(operation.endTime, 'endTime');
    if (endMs < startMs) fail('INVALID_ARGUMENT', 'endTime is before startTime.');
    const parsed = metrics(serviceName, operation.metricValueSets);
    const fingerprint = JSON.stringify([consumerId, startMs, endMs, parsed]);

    const seen = operations.get(operationId as string);
    if (seen !== undefined) {
      if (seen === fingerprint) return; // the same report again: accepted, billed once
      fail(
        'ALREADY_EXISTS',
        `Operation ${operationId as string} was already reported with different content.`,
      );
    }

    const status = resolve(consumerId, startMs);
    if (status.kind === 'unknown') {
      fail('INVALID_ARGUMENT', `Consumer "${consumerId}" is invalid (CONSUMER_INVALID).`);
    }
    if (status.kind === 'not-activated') {
      fail(
        'FAILED_PRECONDITION',
        `Service ${serviceName} is not activated for consumer "${consumerId}" (SERVICE_NOT_ACTIVATED).`,
      );
    }
    for (const { metricName } of parsed) {
      const previousEndMs = windows.get(`${consumerId}\n${metricName}`);
      if (previousEndMs !== undefined && previousEndMs !== startMs) {
        fail(
          'INVALID_ARGUMENT',
          `startTime ${rfc3339(startMs)} of "${metricName}" for consumer "${consumerId}" must equal the endTime of the previous report, ${rfc3339(previousEndMs)}: report windows must be contiguous.`,
        );
      }
    }

    const entitlement = status.kind === 'active' ? status.entitlement : undefined;
    const reportedAt = rfc3339(options.clock.nowMs());
    const labels = operation.userLabels as Record<string, string> | undefined;
    for (const { metricName, values } of parsed) {
      windows.set(`${consumerId}\n${metricName}`, endMs);
      for (const value of values) {
        billed.push({
          serviceName,
          operationId: operationId as string,
          ...(typeof operation.operationName === 'string'
            ? { operationName: operation.operationName }
            : {}),
          consumerId,
          entitlementId: entitlement?.id ?? '',
          plan: entitlement?.plan ?? '',
          metricName,
          value,
          startTime: rfc3339(startMs),
          endTime: rfc3339(endMs),
          ...(labels && typeof labels === 'object' ? { userLabels: labels } : {}),
          reportedAt,
        });
      }
    }
    operations.set(operationId as string, fingerprint);
  };

  return {
    report: (serviceName, operation, resolve) => {
      try {
        judge(serviceName, operation, resolve);
        return undefined;
      } catch (error) {
        if (!(error instanceof OperationError)) throw error;
        const raw = (operation ?? {}) as Record<string, unknown>;
        const operationId = typeof raw.operationId === 'string' ? raw.operationId : '';
        const reportError = {
          operationId,
          status: { code: GRPC_CODE[error.status], message: error.message },
        };
        rejected.push({
          ...reportError,
          serviceName,
          ...(typeof raw.consumerId === 'string' ? { consumerId: raw.consumerId } : {}),
          reportedAt: rfc3339(options.clock.nowMs()),
        });
        return reportError;
      }
    },
    billed: () => billed,
    rejected: () => rejected,
    reset: () => {
      billed.length = 0;
      rejected.length = 0;
      operations.clear();
      windows.clear();
    },
  };
};
