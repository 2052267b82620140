import { servicecontrol_v1 } from 'googleapis/build/src/apis/servicecontrol';
import type { UsageOperation, UsageProblem, UsageReporter } from '../../ports/usage-reporter';
import { googleApiOptions } from './google-api-auth';
import { toMarketplaceApiError } from './google-api-errors';

const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** The wire form: int64 values are JSON strings, and the window sits on the value as well. */
const toOperation = (
  operation: UsageOperation,
  withValues: boolean,
): servicecontrol_v1.Schema$Operation => ({
  operationId: operation.operationId,
  operationName: 'Hourly Usage Report',
  consumerId: operation.consumerId,
  startTime: iso(operation.startEpochMs),
  endTime: iso(operation.endEpochMs),
  ...(withValues
    ? {
        metricValueSets: [
          {
            metricName: operation.metricName,
            metricValues: [
              {
                int64Value: String(operation.quantity),
                startTime: iso(operation.startEpochMs),
                endTime: iso(operation.endEpochMs),
              },
            ],
          },
        ],
      }
    : {}),
});

/**
 * Service Control v1 through the official client, for one service (the listing's
 * `<product>.gcpmarketplace.<domain>` name).
 */
export const createServiceControlClient = (options: {
  readonly serviceName: string;
  /** `https://servicecontrol.googleapis.com/` unless pointed at the simulator. */
  readonly baseUrl?: string;
}): UsageReporter => {
  const baseUrl = options.baseUrl ?? 'https://servicecontrol.googleapis.com/';
  const api = new servicecontrol_v1.Servicecontrol(googleApiOptions(baseUrl));
  const problemOf = (
    code: string | null | undefined,
    detail: string | null | undefined,
  ): UsageProblem => ({
    code: code ?? 'UNKNOWN',
    detail: detail ?? '',
  });

  return {
    check: async (operation) => {
      try {
        const { data } = await api.services.check({
          serviceName: options.serviceName,
          // Labels and values go on the report only, as Google's sample does.
          requestBody: { operation: toOperation(operation, false) },
        });
        return (data.checkErrors ?? []).map((e) =>
          problemOf(e.code, e.detail ?? e.status?.message),
        );
      } catch (error) {
        throw toMarketplaceApiError(error, 'services.check');
      }
    },
    report: async (operations) => {
      try {
        const { data } = await api.services.report({
          serviceName: options.serviceName,
          requestBody: { operations: operations.map((op) => toOperation(op, true)) },
        });
        return new Map(
          (data.reportErrors ?? []).map((e) => [
            e.operationId ?? '',
            problemOf(
              e.status?.code === undefined ? undefined : String(e.status.code),
              e.status?.message,
            ),
          ]),
        );
      } catch (error) {
        throw toMarketplaceApiError(error, 'services.report');
      }
    },
  };
};
