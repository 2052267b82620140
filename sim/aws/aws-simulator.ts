import { z } from 'zod';
import type { SimCloud, SimContext } from '../cloud';
import { rfc3339 } from '../clock';
import { simError } from '../http/http-error';
import type { RecordedMessage } from '../messages';
import type { Random } from '../random';
import { createRandom } from '../random';
import { clientError, internalError, throttling } from './aws-errors';
import type { AwsOperation } from './aws-json';
import { awsJsonRoute, checkSignature, createQuota, operationName, targetOf } from './aws-json';
import type {
  AwsDeliveryMode,
  AwsProductOptions,
  AwsSimulatorOptions,
  EmptyPages,
} from './aws-options';
import { AWS_DEFAULTS } from './aws-options';
import { buyerRoutes } from './buyer-routes';
import { getEntitlements } from './entitlements-api';
import { createAwsIds } from './ids';
import type { LicenseView } from './license-view';
import { licenseView } from './license-view';
import type { LicenseAction, LicenseActionInput, SubscribeInput } from './marketplace';
import { createAwsMarketplace } from './marketplace';
import type { BilledRecord, RefusedCall, RefusedRecord } from './metering';
import { createMeteringService } from './metering';
import type { Product } from './model';
import type { Notification } from './notifications';
import { notificationType, snsTopicArn } from './notifications';
import type { SnsSignatureVersion, SnsSigningKey } from './sns-signing';
import { createSnsSigner, formatSnsBody, signingCertPath } from './sns-signing';
import { snsRoutes } from './sns-routes';
import type { DeadLetter, SqsConfig } from './sqs-queue';
import { createSqsQueue } from './sqs-queue';

/**
 * The AWS half of the simulator as a `SimCloud`: the Metering and Entitlement Services over AWS
 * JSON 1.1, buyer actions under `/_sim/aws/*`, SNS certificates, and the seller's SQS queue that
 * carries SNS notifications and EventBridge events to the notifications function.
 */

/** What can change while the simulator runs (`POST /_sim/aws/config`, `handle.configure`). */
export interface AwsRuntimeConfig {
  readonly sqsEndpoint: string | null;
  readonly deliver: AwsDeliveryMode;
  readonly batchSize: number;
  readonly visibilityTimeoutMs: number;
  readonly maxReceiveCount: number;
  readonly sqsTimeoutMs: number;
  readonly snsSignatureVersion: SnsSignatureVersion;
  readonly eventLicenseArn: 'without-prefix' | 'with-prefix';
  readonly emptyPages: EmptyPages;
  readonly requestsPerSecond: number;
}

export interface SubscribeAnswer {
  readonly productCode: string;
  readonly registrationToken: string;
  /** Legacy products only; `null` for new ones, whose buyers AWS names by account and license. */
  readonly customerIdentifier: string | null;
  readonly customerAWSAccountId: string;
  /** Also for legacy products, where AWS keeps it internal: the handle for buyer actions. */
  readonly licenseArn: string;
  readonly agreementId: string;
  readonly offerId: string;
  readonly status: LicenseView['status'];
  readonly messageIds: string[];
}

/** What tests reach directly, besides HTTP. */
export interface AwsSimulatorHandle {
  readonly sellerAccountId: string;
  readonly region: string;
  readonly queueArn: string;
  readonly deadLetterQueueArn: string;
  products(): readonly Product[];

  /** `POST /_sim/aws/subscribe`: in `sync` mode resolves once the deliveries were answered. */
  subscribe(input?: Partial<SubscribeInput>): Promise<SubscribeAnswer>;
  /** `POST /_sim/aws/licenses/{arn}/{action}`; `arn` may also be the `l-…` license id. */
  act(
    arn: string,
    action: LicenseAction,
    input?: LicenseActionInput,
  ): Promise<{ license: LicenseView; messageIds: string[] }>;
  /** A fresh registration token for the license, valid `ttlMs` (0: already expired). */
  registrationToken(arn: string, options?: { ttlMs?: number }): string;
  license(arn: string): LicenseView | undefined;
  licenses(): readonly LicenseView[];

  /** Rows billed by BatchMeterUsage and MeterUsage, oldest first. */
  meteringRecords(): readonly BilledRecord[];
  /** Records answered CustomerNotSubscribed, DuplicateRecord or as unprocessed. */
  refusedRecords(): readonly RefusedRecord[];
  /** Calls refused whole (an exception). */
  refusedCalls(): readonly RefusedCall[];
  /** Requests that reached each operation, faulted and throttled ones included. */
  calls(): Readonly<Record<string, number>>;

  /** Messages sent to the queue, oldest first. */
  messages(): readonly RecordedMessage[];
  deadLetters(): readonly DeadLetter[];
  redeliver(messageId: string): Promise<RecordedMessage>;
  config(): AwsRuntimeConfig;
  configure(changes: Partial<AwsRuntimeConfig>): AwsRuntimeConfig;

  /**
   * Sends the SubscriptionConfirmation SNS delivers to a new cross-account subscription
   * (the seller's queue on the product's topic); visiting its `SubscribeURL` confirms it.
   */
  sendSubscriptionConfirmation(options?: {
    productCode?: string;
    topic?: 'subscription' | 'entitlement';
  }): Promise<RecordedMessage>;
  /** The key SNS signs with now and where its certificate is served. */
  snsSigningKey(): SnsSigningKey & { readonly certUrl: string };
  /** Signs from now on with a new key; earlier certificates stay served. */
  rotateSnsKey(): Promise<SnsSigningKey & { readonly certUrl: string }>;
}

export interface AwsSimulator {
  readonly cloud: SimCloud;
  readonly handle: AwsSimulatorHandle;
}

// The message AWS answers for a bogus token (aws/aws-sdk-go#1034).
const invalidToken = () => clientError('InvalidTokenException', 'Registration token is invalid');
const expiredToken = () =>
  clientError(
    'ExpiredTokenException',
    'Registration token has expired; the buyer must follow "Set up your account" again',
  );

// Who SNS and EventBridge appear as when they send to the queue (`attributes.SenderId`).
const SNS_SENDER_ID = 'AIDAIT2UOQQY3AUEKVGXU';
const EVENTBRIDGE_SENDER_ID = 'AIDAIE6VAXUQU2DKHA7DK';

export const createAwsSimulator = async (
  context: SimContext,
  options: AwsSimulatorOptions = {},
): Promise<AwsSimulator> => {
  const { clock, messages, deliveries } = context;
  const region = options.region ?? AWS_DEFAULTS.region;
  const sellerAccountId = options.sellerAccountId ?? AWS_DEFAULTS.sellerAccountId;
  // Separate streams, so a key or a message never shifts the ids of resources.
  const ids = createAwsIds(createRandom(`${context.seed}:aws`));
  const messageIds = createAwsIds(createRandom(`${context.seed}:aws:messages`));
  const signer = await createSnsSigner(createRandom(`${context.seed}:aws:keys`), clock.nowMs);

  const configured: readonly AwsProductOptions[] = options.products ?? AWS_DEFAULTS.products;
  const products: Product[] = configured.map((product) => ({
    code: product.code,
    id: product.id ?? `prod-${product.code.slice(0, 12)}`,
    offerId: product.offerId ?? `offer-${product.code.slice(0, 13).toLowerCase()}`,
    ...(product.usageDimensions ? { usageDimensions: new Set(product.usageDimensions) } : {}),
    ...(product.contractDimensions
      ? { contractDimensions: new Set(product.contractDimensions) }
      : {}),
  }));

  let snsSignatureVersion: SnsSignatureVersion =
    options.snsSignatureVersion ?? AWS_DEFAULTS.snsSignatureVersion;
  let eventLicenseArn = options.eventLicenseArn ?? AWS_DEFAULTS.eventLicenseArn;
  let emptyPages: EmptyPages = options.emptyPages ?? AWS_DEFAULTS.emptyPages;
  let requestsPerSecond = options.requestsPerSecond ?? AWS_DEFAULTS.requestsPerSecond;
  const quota = createQuota(requestsPerSecond);

  const marketplace = createAwsMarketplace({
    products,
    sellerAccountId,
    region,
    clock,
    ids,
    registrationTokenTtlMs: options.registrationTokenTtlMs ?? AWS_DEFAULTS.registrationTokenTtlMs,
    eventLicenseArn: () => eventLicenseArn,
  });

  let unprocessedRate = 0;
  let unprocessedDice: Random = createRandom(`${context.seed}:aws:unprocessed`);
  const window = {
    pastMs: options.meteringWindow?.pastMs ?? AWS_DEFAULTS.pastMs,
    futureMs: options.meteringWindow?.futureMs ?? AWS_DEFAULTS.futureMs,
    monthEndGraceMs:
      options.meteringWindow?.monthEndGraceMs === undefined
        ? AWS_DEFAULTS.monthEndGraceMs
        : options.meteringWindow.monthEndGraceMs,
  };
  const metering = createMeteringService({
    marketplace,
    clock,
    ids,
    window: () => window,
    graceMs: options.meteringGraceMs ?? AWS_DEFAULTS.meteringGraceMs,
    unprocessedRate: () => unprocessedRate,
    roll: () => unprocessedDice.next(),
  });

  const queue = createSqsQueue({
    clock,
    ids: messageIds,
    messages,
    deliveries,
    region,
    accountId: sellerAccountId,
    queueName: options.sqs?.queueName ?? AWS_DEFAULTS.queueName,
    config: {
      ...(options.sqs?.endpoint ? { endpoint: options.sqs.endpoint } : {}),
      deliver: options.sqs?.deliver ?? AWS_DEFAULTS.deliver,
      batchSize: options.sqs?.batchSize ?? AWS_DEFAULTS.batchSize,
      visibilityTimeoutMs: options.sqs?.visibilityTimeoutMs ?? AWS_DEFAULTS.visibilityTimeoutMs,
      maxReceiveCount: options.sqs?.maxReceiveCount ?? AWS_DEFAULTS.maxReceiveCount,
      timeoutMs: options.sqs?.timeoutMs ?? AWS_DEFAULTS.sqsTimeoutMs,
    },
  });

  const baseUrl = (): string => (options.publicUrl ?? context.baseUrl()).replace(/\/+$/, '');
  const certUrl = (key: SnsSigningKey): string => `${baseUrl()}${signingCertPath(key)}`;
  // One subscription per topic: the seller's queue.
  const subscriptionIds = new Map<string, string>();
  const subscriptionArn = (topicArn: string): string => {
    let id = subscriptionIds.get(topicArn);
    if (!id) {
      id = messageIds.uuid();
      subscriptionIds.set(topicArn, id);
    }
    return `${topicArn}:${id}`;
  };
  let unsubscribedTopics = new Set<string>();
  let confirmationTokens = new Map<string, string>();

  const enqueue = (notification: Notification): RecordedMessage | undefined => {
    const eventType = notificationType(notification);
    if (notification.kind === 'eventbridge') {
      return queue.enqueue({
        eventType,
        channel: 'eventbridge',
        payload: notification.event,
        body: JSON.stringify(notification.event),
        senderId: EVENTBRIDGE_SENDER_ID,
      });
    }
    if (unsubscribedTopics.has(notification.topicArn)) return undefined;
    const message = JSON.stringify(notification.message);
    if (notification.raw) {
      return queue.enqueue({
        eventType,
        channel: 'sns-raw',
        payload: notification.message,
        body: message,
        senderId: SNS_SENDER_ID,
      });
    }
    const envelope = signer.sign(
      {
        Type: 'Notification',
        MessageId: messageIds.uuid(),
        TopicArn: notification.topicArn,
        Message: message,
        Timestamp: rfc3339(clock.nowMs()),
        SignatureVersion: snsSignatureVersion,
        UnsubscribeURL: `${baseUrl()}/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn(notification.topicArn)}`,
      },
      certUrl,
    );
    return queue.enqueue({
      eventType,
      channel: 'sns',
      payload: notification.message,
      body: formatSnsBody(envelope),
      senderId: SNS_SENDER_ID,
    });
  };

  const publish = (notifications: readonly Notification[]): RecordedMessage[] =>
    notifications.flatMap((notification) => enqueue(notification) ?? []);

  // Unsubscriptions complete on their own after a while, unless a test completes them first.
  const completionTimers = new Map<string, NodeJS.Timeout>();
  const cancelCompletion = (arn: string): void => {
    clearTimeout(completionTimers.get(arn));
    completionTimers.delete(arn);
  };
  const scheduleCompletion = (arn: string): void => {
    const afterMs =
      options.unsubscribeCompleteAfterMs === undefined
        ? AWS_DEFAULTS.unsubscribeCompleteAfterMs
        : options.unsubscribeCompleteAfterMs;
    if (afterMs === null) return;
    cancelCompletion(arn);
    const timer = setTimeout(() => {
      completionTimers.delete(arn);
      if (marketplace.license(arn)?.status !== 'unsubscribe-pending') return;
      const { notifications } = marketplace.act(arn, 'unsubscribe-complete');
      void queue.dispatch(publish(notifications), 'api');
    }, afterMs);
    // Real time, never awaited by idle(): an hour-long wait must not hold a test or a process.
    timer.unref();
    completionTimers.set(arn, timer);
  };

  const calls = new Map<string, number>();

  const resolveCustomer = (body: unknown): unknown => {
    const token = (body as { RegistrationToken?: unknown } | null)?.RegistrationToken;
    if (typeof token !== 'string' || token === '') {
      throw invalidToken();
    }
    const found = marketplace.resolveToken(token);
    if (!found) throw invalidToken();
    if (clock.nowMs() >= found.expiresAtMs) {
      throw expiredToken();
    }
    return found.answer;
  };

  const handlers: Record<AwsOperation, (body: unknown) => unknown> = {
    'AWSMPMeteringService.ResolveCustomer': (body) => resolveCustomer(body),
    'AWSMPMeteringService.BatchMeterUsage': (body) => metering.batchMeterUsage(body),
    'AWSMPMeteringService.MeterUsage': (body) => metering.meterUsage(body),
    'AWSMPEntitlementService.GetEntitlements': (body) =>
      getEntitlements(body, { marketplace, emptyPages }),
  };

  const runtimeConfig = (): AwsRuntimeConfig => {
    const sqs = queue.config();
    return {
      sqsEndpoint: sqs.endpoint ?? null,
      deliver: sqs.deliver,
      batchSize: sqs.batchSize,
      visibilityTimeoutMs: sqs.visibilityTimeoutMs,
      maxReceiveCount: sqs.maxReceiveCount,
      sqsTimeoutMs: sqs.timeoutMs,
      snsSignatureVersion,
      eventLicenseArn,
      emptyPages,
      requestsPerSecond,
    };
  };

  const configure = (changes: Partial<AwsRuntimeConfig>): AwsRuntimeConfig => {
    if (changes.snsSignatureVersion !== undefined)
      snsSignatureVersion = changes.snsSignatureVersion;
    if (changes.eventLicenseArn !== undefined) eventLicenseArn = changes.eventLicenseArn;
    if (changes.emptyPages !== undefined) emptyPages = changes.emptyPages;
    if (changes.requestsPerSecond !== undefined) {
      requestsPerSecond = changes.requestsPerSecond;
      quota.configure(requestsPerSecond);
    }
    const sqs: Partial<SqsConfig> = {
      ...(changes.deliver !== undefined ? { deliver: changes.deliver } : {}),
      ...(changes.batchSize !== undefined ? { batchSize: changes.batchSize } : {}),
      ...(changes.visibilityTimeoutMs !== undefined
        ? { visibilityTimeoutMs: changes.visibilityTimeoutMs }
        : {}),
      ...(changes.maxReceiveCount !== undefined
        ? { maxReceiveCount: changes.maxReceiveCount }
        : {}),
      ...(changes.sqsTimeoutMs !== undefined ? { timeoutMs: changes.sqsTimeoutMs } : {}),
    };
    if (changes.sqsEndpoint !== undefined) {
      queue.configure({ ...sqs, endpoint: changes.sqsEndpoint ?? undefined });
    } else if (Object.keys(sqs).length) {
      queue.configure(sqs);
    }
    return runtimeConfig();
  };

  const idsOf = (published: readonly RecordedMessage[]): string[] => published.map((m) => m.id);

  const handle: AwsSimulatorHandle = {
    sellerAccountId,
    region,
    queueArn: queue.queueArn,
    deadLetterQueueArn: queue.deadLetterQueueArn,
    products: () => products,
    subscribe: async (input = {}) => {
      const productCode = input.productCode ?? products[0]?.code ?? '';
      const result = marketplace.subscribe({ ...input, productCode });
      cancelCompletion(result.license.arn);
      const published = publish(result.notifications);
      await queue.dispatch(published, 'buyer');
      const { license } = result;
      return {
        productCode: license.productCode,
        registrationToken: result.registrationToken,
        customerIdentifier: license.customerIdentifier ?? null,
        customerAWSAccountId: license.customerAWSAccountId,
        licenseArn: license.arn,
        agreementId: license.agreementId,
        offerId: license.offerId,
        status: license.status,
        messageIds: idsOf(published),
      };
    },
    act: async (arn, action, input) => {
      const { license, notifications } = marketplace.act(arn, action, input);
      if (action === 'unsubscribe') scheduleCompletion(license.arn);
      else cancelCompletion(license.arn);
      const published = publish(notifications);
      await queue.dispatch(published, 'buyer');
      return { license: licenseView(license), messageIds: idsOf(published) };
    },
    registrationToken: (arn, { ttlMs } = {}) => marketplace.mintToken(arn, ttlMs).token,
    license: (arn) => {
      const license = marketplace.license(arn);
      return license && licenseView(license);
    },
    licenses: () => marketplace.licenses().map(licenseView),
    meteringRecords: () => metering.billed(),
    refusedRecords: () => metering.refusedRecords(),
    refusedCalls: () => metering.refusedCalls(),
    calls: () => Object.fromEntries(calls),
    messages: () => messages.list({ cloud: 'aws' }),
    deadLetters: () => queue.deadLetters(),
    redeliver: (messageId) => queue.redeliver(messageId),
    config: runtimeConfig,
    configure,
    sendSubscriptionConfirmation: async ({ productCode, topic = 'subscription' } = {}) => {
      const code = productCode ?? products[0]?.code ?? '';
      if (!marketplace.product(code)) throw simError(404, `product "${code}" is not configured`);
      const topicArn = snsTopicArn(topic, code, region);
      const token = messageIds.hex(256);
      confirmationTokens.set(token, topicArn);
      const confirmation = signer.signConfirmation(
        {
          Type: 'SubscriptionConfirmation',
          MessageId: messageIds.uuid(),
          Token: token,
          TopicArn: topicArn,
          Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
          SubscribeURL: `${baseUrl()}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${token}`,
          Timestamp: rfc3339(clock.nowMs()),
          SignatureVersion: snsSignatureVersion,
        },
        certUrl,
      );
      const message = queue.enqueue({
        eventType: 'SubscriptionConfirmation',
        channel: 'sns',
        payload: confirmation,
        body: formatSnsBody(confirmation),
        senderId: SNS_SENDER_ID,
      });
      await queue.dispatch([message], 'buyer');
      return message;
    },
    snsSigningKey: () => ({ ...signer.current(), certUrl: certUrl(signer.current()) }),
    rotateSnsKey: async () => {
      const key = await signer.rotate();
      return { ...key, certUrl: certUrl(key) };
    },
  };

  const cloud: SimCloud = {
    name: 'aws',
    routes: [
      awsJsonRoute({
        handlers,
        quota,
        onError: (operation, error, body) => {
          if (operation !== 'BatchMeterUsage' && operation !== 'MeterUsage') return;
          const records = (body as { UsageRecords?: unknown } | undefined)?.UsageRecords;
          metering.refuseCall({
            operation,
            errorType: String((error.body as { __type?: unknown }).__type),
            message: String((error.body as { message?: unknown }).message),
            recordCount: Array.isArray(records)
              ? records.length
              : operation === 'MeterUsage'
                ? 1
                : 0,
            at: rfc3339(clock.nowMs()),
          });
        },
      }),
      ...snsRoutes({
        signer,
        requestId: () => messageIds.uuid(),
        confirm: (topicArn, token) => {
          if (confirmationTokens.get(token) !== topicArn) return undefined;
          unsubscribedTopics.delete(topicArn);
          return subscriptionArn(topicArn);
        },
        unsubscribe: (arn) => {
          const topic = [...subscriptionIds.keys()].find(
            (topicArn) => arn === subscriptionArn(topicArn),
          );
          if (!topic) return false;
          unsubscribedTopics.add(topic);
          return true;
        },
      }),
      ...buyerRoutes({ handle, metering, configure, runtimeConfig }),
    ],
    guard: (request) => {
      const operation = operationName(targetOf(request)) || 'unknown';
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      checkSignature(request, region);
    },
    faultError: (outcome) => (outcome === 'throttled' ? throttling() : internalError()),
    faults: {
      shape: {
        unprocessedRate: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe('the share of BatchMeterUsage records answered as UnprocessedRecords'),
      },
      configure: (values, common) => {
        const scoped =
          common.scope === undefined || common.scope === 'all' || common.scope === 'aws';
        unprocessedRate = scoped ? ((values.unprocessedRate as number | undefined) ?? 0) : 0;
        unprocessedDice = createRandom(`${common.seed ?? context.seed}:aws:unprocessed`);
      },
      settings: () => (unprocessedRate > 0 ? { unprocessedRate } : {}),
      reset: () => {
        unprocessedRate = 0;
        unprocessedDice = createRandom(`${context.seed}:aws:unprocessed`);
      },
    },
    reset: () => {
      for (const arn of [...completionTimers.keys()]) cancelCompletion(arn);
      marketplace.reset();
      metering.reset();
      queue.reset();
      quota.reset();
      calls.clear();
      unsubscribedTopics = new Set();
      confirmationTokens = new Map();
    },
    stop: () => {
      for (const arn of [...completionTimers.keys()]) cancelCompletion(arn);
      queue.stop();
    },
  };

  return { cloud, handle };
};
