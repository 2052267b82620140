import { z } from 'zod';
import { simError } from '../http/http-error';
import { parseBody } from '../http/parse-body';
import type { SimRoute } from '../http/types';
import type { AwsRuntimeConfig, AwsSimulatorHandle } from './aws-simulator';
import type { LicenseAction } from './marketplace';
import { LICENSE_ACTIONS } from './marketplace';
import type { MeteringService } from './metering';
import { NOTIFICATION_STYLES } from './model';

/**
 * `/_sim/aws/*`: what a buyer does on AWS Marketplace, and what a test inspects or tunes. No
 * credentials, no faults. Bad input answers 400, an unknown product, license or message 404,
 * and an action the license's state does not allow 409, each with a message saying why.
 */
export interface AwsBuyerRoutesDeps {
  readonly handle: AwsSimulatorHandle;
  readonly metering: MeteringService;
  readonly configure: (changes: Partial<AwsRuntimeConfig>) => AwsRuntimeConfig;
  readonly runtimeConfig: () => AwsRuntimeConfig;
}

const contractValue = z.union([z.number(), z.boolean(), z.string()]);
const time = z.iso.datetime({ offset: true });

const subscribeSchema = z.strictObject({
  productCode: z.string().min(1).optional(),
  style: z.enum(NOTIFICATION_STYLES).optional(),
  legacy: z.boolean().optional(),
  freeTrial: z.boolean().optional(),
  contract: z.record(z.string().min(1), contractValue).optional(),
  expiresAt: time.optional(),
  customerAWSAccountId: z
    .string()
    .regex(/^\d{12}$/, 'must be 12 digits')
    .optional(),
  offerId: z.string().min(1).optional(),
  cppo: z.boolean().optional(),
  pending: z.boolean().optional(),
});

const ACTION_SCHEMAS: Record<LicenseAction, z.ZodType<Record<string, unknown>>> = {
  confirm: z.strictObject({}),
  fail: z.strictObject({}),
  unsubscribe: z.strictObject({}),
  'unsubscribe-complete': z.strictObject({}),
  'update-contract': z.strictObject({
    contract: z.record(z.string().min(1), contractValue.nullable()),
    expiresAt: time.optional(),
  }),
};

const confirmationSchema = z.strictObject({
  productCode: z.string().min(1).optional(),
  topic: z.enum(['subscription', 'entitlement']).optional(),
});

const tokenSchema = z.strictObject({ ttlSeconds: z.number().min(0).optional() });

const configSchema = z.strictObject({
  sqsEndpoint: z.url().nullable().optional(),
  deliver: z.enum(['sync', 'async', 'manual']).optional(),
  batchSize: z.number().int().min(1).max(10_000).optional(),
  visibilityTimeoutMs: z.number().int().min(0).max(43_200_000).optional(),
  maxReceiveCount: z.number().int().min(1).max(1000).optional(),
  sqsTimeoutMs: z.number().int().min(1).max(900_000).optional(),
  snsSignatureVersion: z.enum(['1', '2']).optional(),
  eventLicenseArn: z.enum(['without-prefix', 'with-prefix']).optional(),
  emptyPages: z.enum(['leading', 'interleaved', 'none']).optional(),
  requestsPerSecond: z.number().min(0).optional(),
});

export const buyerRoutes = (deps: AwsBuyerRoutesDeps): SimRoute[] => {
  const { handle, metering } = deps;
  const licenseOf = (arn: string) => {
    const license = handle.license(arn);
    if (!license) throw simError(404, `license ${arn} not found`);
    return license;
  };

  return [
    {
      method: 'POST',
      pattern: '/_sim/aws/subscribe',
      handle: async (request) => ({
        status: 201,
        body: await handle.subscribe(await parseBody(request, subscribeSchema)),
      }),
    },
    {
      method: 'GET',
      pattern: '/_sim/aws/licenses/{arn}',
      handle: (request) => ({ status: 200, body: licenseOf(request.params.arn ?? '') }),
    },
    {
      method: 'POST',
      pattern: '/_sim/aws/licenses/{arn}/registration-token',
      handle: async (request) => {
        const { ttlSeconds } = await parseBody(request, tokenSchema);
        const license = licenseOf(request.params.arn ?? '');
        const registrationToken = handle.registrationToken(
          license.licenseArn,
          ttlSeconds === undefined ? {} : { ttlMs: ttlSeconds * 1000 },
        );
        return { status: 200, body: { licenseArn: license.licenseArn, registrationToken } };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/aws/licenses/{arn}/{action}',
      handle: async (request) => {
        const action = request.params.action as LicenseAction;
        if (!LICENSE_ACTIONS.includes(action)) {
          throw simError(
            404,
            `unknown action "${action}"; actions: ${[...LICENSE_ACTIONS, 'registration-token'].join(', ')}`,
          );
        }
        const input = await parseBody(request, ACTION_SCHEMAS[action]);
        return { status: 200, body: await handle.act(request.params.arn ?? '', action, input) };
      },
    },
    {
      method: 'GET',
      pattern: '/_sim/aws/state',
      handle: () => ({
        status: 200,
        body: {
          sellerAccountId: handle.sellerAccountId,
          region: handle.region,
          products: handle.products().map((product) => ({
            code: product.code,
            id: product.id,
            offerId: product.offerId,
            ...(product.usageDimensions ? { usageDimensions: [...product.usageDimensions] } : {}),
            ...(product.contractDimensions
              ? { contractDimensions: [...product.contractDimensions] }
              : {}),
          })),
          licenses: handle.licenses(),
        },
      }),
    },
    {
      method: 'GET',
      pattern: '/_sim/aws/metering-records',
      handle: (request) => {
        const query = request.url.searchParams;
        const wanted = {
          productCode: query.get('productCode'),
          licenseArn: query.get('licenseArn'),
          customerAWSAccountId: query.get('customerAWSAccountId'),
          customerIdentifier: query.get('customerIdentifier'),
        };
        const keep = (row: Record<string, unknown>): boolean =>
          Object.entries(wanted).every(([key, value]) => value === null || row[key] === value);
        return {
          status: 200,
          body: {
            records: metering.billed().filter((row) => keep({ ...row })),
            refused: metering.refusedRecords().filter((row) =>
              keep({
                productCode: row.productCode,
                licenseArn: row.usageRecord.LicenseArn,
                customerAWSAccountId: row.usageRecord.CustomerAWSAccountId,
                customerIdentifier: row.usageRecord.CustomerIdentifier,
              }),
            ),
            refusedCalls: metering.refusedCalls(),
            calls: handle.calls(),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/_sim/aws/dlq',
      handle: () => ({
        status: 200,
        body: {
          queueArn: handle.deadLetterQueueArn,
          messages: handle.deadLetters().map((letter) => ({
            ...letter.message,
            receiveCount: letter.receiveCount,
            movedAt: letter.movedAt,
          })),
        },
      }),
    },
    {
      method: 'POST',
      pattern: '/_sim/aws/messages/{messageId}/redeliver',
      handle: async (request) => ({
        status: 200,
        body: await handle.redeliver(request.params.messageId ?? ''),
      }),
    },
    {
      method: 'GET',
      pattern: '/_sim/aws/config',
      handle: () => ({ status: 200, body: deps.runtimeConfig() }),
    },
    {
      method: 'POST',
      pattern: '/_sim/aws/config',
      handle: async (request) => {
        const changes = await parseBody(request, configSchema);
        return { status: 200, body: deps.configure(changes as Partial<AwsRuntimeConfig>) };
      },
    },
    {
      method: 'POST',
      pattern: '/_sim/aws/sns/subscription-confirmation',
      handle: async (request) => ({
        status: 201,
        body: await handle.sendSubscriptionConfirmation(
          await parseBody(request, confirmationSchema),
        ),
      }),
    },
    {
      method: 'POST',
      pattern: '/_sim/aws/keys/rotate',
      handle: async () => {
        const key = await handle.rotateSnsKey();
        return { status: 200, body: { signingCertURL: key.certUrl } };
      },
    },
  ];
};
