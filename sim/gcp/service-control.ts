import type { SimRoute } from '../http/types';
import { invalidArgument } from './google-errors';
import type { GcpMarketplace } from './marketplace';
import type { UsageLedger } from './usage-ledger';

/**
 * Service Control v1 (`servicecontrol.googleapis.com`), the part usage-based listings use:
 * `services.check` says whether a consumer may be served and billed, `services.report` bills.
 */

/** Check error codes the simulator produces itself or can be told to force. */
export const CHECK_ERROR_CODES = [
  'SERVICE_NOT_ACTIVATED',
  'BILLING_DISABLED',
  'PROJECT_DELETED',
  'PROJECT_INVALID',
  'CONSUMER_INVALID',
  'PERMISSION_DENIED',
  'NOT_FOUND',
] as const;
export type CheckErrorCode = (typeof CHECK_ERROR_CODES)[number];

export interface ServiceControlDeps {
  readonly marketplace: GcpMarketplace;
  readonly ledger: UsageLedger;
  /** Check errors forced per consumer id by `POST /_sim/faults {"checkErrors":{...}}`. */
  readonly forcedCheckErrors: ReadonlyMap<string, CheckErrorCode>;
}

const SERVICE_CONFIG = { serviceConfigId: '2026-01-01r0', serviceRolloutId: '2026-01-01r0' };

const object = (value: unknown, what: string): Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${what} must be an object.`);
  }
  return value as Record<string, unknown>;
};

const projectNumber = (consumerId: string): string | undefined =>
  /^project_number:(\d+)$/.exec(consumerId)?.[1];

export const serviceControlRoutes = (deps: ServiceControlDeps): SimRoute[] => [
  {
    method: 'POST',
    pattern: '/v1/services/{service}:check',
    api: 'gcp',
    handle: async (request) => {
      const serviceName = request.params.service ?? '';
      const body = object((await request.json()) ?? {}, 'The request');
      const operation = object(body.operation, 'operation');
      const operationId = typeof operation.operationId === 'string' ? operation.operationId : '';
      const consumerId = typeof operation.consumerId === 'string' ? operation.consumerId : '';
      if (!operationId) throw invalidArgument('operation.operationId is required.');
      if (!consumerId) throw invalidArgument('operation.consumerId is required.');

      const number = projectNumber(consumerId);
      const subject = number ? `project:${number}` : consumerId;
      const forced = deps.forcedCheckErrors.get(consumerId);
      // As Google's guide says, the check errs when the service was disabled before the
      // operation's start: a window that began while the purchase was billable still checks.
      const startMs =
        typeof operation.startTime === 'string' ? Date.parse(operation.startTime) : Number.NaN;
      const status = deps.marketplace.consumerStatus(
        consumerId,
        serviceName,
        Number.isNaN(startMs) ? undefined : startMs,
      );
      const checkErrors = forced
        ? [{ code: forced, subject, detail: `${forced} (forced by the simulator's faults)` }]
        : status.kind === 'unknown'
          ? [{ code: 'CONSUMER_INVALID', subject, detail: `Consumer "${consumerId}" is invalid.` }]
          : status.kind === 'not-activated'
            ? [
                {
                  code: 'SERVICE_NOT_ACTIVATED',
                  subject,
                  detail: `Service ${serviceName} is not activated for consumer "${consumerId}" (entitlement ${status.entitlement.id} is ${status.entitlement.state}).`,
                },
              ]
            : [];
      return {
        status: 200,
        body: {
          operationId,
          ...(checkErrors.length ? { checkErrors } : {}),
          ...SERVICE_CONFIG,
          ...(number
            ? {
                checkInfo: {
                  consumerInfo: { projectNumber: number, type: 'PROJECT', consumerNumber: number },
                },
              }
            : {}),
        },
      };
    },
  },
  {
    method: 'POST',
    pattern: '/v1/services/{service}:report',
    api: 'gcp',
    handle: async (request) => {
      const serviceName = request.params.service ?? '';
      const body = object((await request.json()) ?? {}, 'The request');
      if (!Array.isArray(body.operations) || body.operations.length === 0) {
        throw invalidArgument('operations must list at least one operation.');
      }
      const reportErrors = (body.operations as unknown[]).flatMap((operation) => {
        const error = deps.ledger.report(serviceName, operation, (consumerId, startMs) =>
          deps.marketplace.consumerStatus(consumerId, serviceName, startMs),
        );
        return error ? [error] : [];
      });
      return {
        status: 200,
        body: { ...(reportErrors.length ? { reportErrors } : {}), ...SERVICE_CONFIG },
      };
    },
  },
];
