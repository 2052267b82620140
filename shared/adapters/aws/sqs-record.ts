import { z } from 'zod';
import type { AwsSubject, MarketplaceEventCommand } from '../../domain/decision';
import { LifecycleEvent } from '../../domain/entitlement';
import { ValidationError } from '../../domain/errors';
import { awsAccountId, awsEntitlementId, normaliseLicenseArn } from '../../domain/aws-keys';
import { byteLength } from '../../domain/limits';
import { envelopeOf, SnsMessageType, snsEnvelopeSchema } from './sns-envelope';
import type { SnsEnvelope } from './sns-envelope';

/**
 * The largest SQS body read. SQS takes up to 1 MiB, but a marketplace notification is well
 * under 2 KB: anything this large is not one, and parsing it would only cost memory.
 */
export const MAX_SQS_BODY_BYTES = 256 * 1024;

/** The only EventBridge source whose events this parser reads. */
export const AGREEMENT_MARKETPLACE_SOURCE = 'aws.agreement-marketplace';

/** The actions AWS publishes on the legacy SNS topics, and what each says happened. */
// Maps, not object literals: a type named `constructor` must not find Object's own.
const SNS_ACTION_HINTS: ReadonlyMap<string, LifecycleEvent> = new Map([
  ['subscribe-success', LifecycleEvent.activated],
  // Payment failed after the buyer subscribed: the purchase never starts.
  ['subscribe-fail', LifecycleEvent.cancelled],
  // About an hour remains for the final metering records.
  ['unsubscribe-pending', LifecycleEvent.cancellationScheduled],
  ['unsubscribe-success', LifecycleEvent.cancelled],
  // Says nothing of what changed (new, upgrade, renewal, expiry): the re-read decides.
  ['entitlement-updated', LifecycleEvent.updated],
]);

/**
 * License events, by name without the role suffix. `License Updated` is sent both for a new
 * license and for a changed one and the event cannot tell which; `activated` is what a first
 * one means, and where the entitlement is already active the state table has no such edge, so
 * the decision follows the re-read (GetEntitlements) instead.
 */
const LICENSE_EVENT_HINTS: ReadonlyMap<string, LifecycleEvent> = new Map([
  ['License Updated', LifecycleEvent.activated],
  ['License Deprovisioned', LifecycleEvent.cancelled],
]);

/**
 * Agreement events name no license (and, in real deliveries, no product), so they cannot say
 * what happened to an entitlement: they are recorded with the buyer's account and no hint.
 */
const AGREEMENT_EVENTS = [
  'Purchase Agreement Created',
  'Purchase Agreement Amended',
  'Purchase Agreement Ended',
  'Purchase Agreement Ending',
  'Purchase Agreement Renewal Terms Finalized',
  'Purchase Agreement Renewal Upcoming',
  'Purchase Agreement Advisory Issued',
  'Purchase Agreement Advisory Resolved',
];
const ROLES = ['Manufacturer', 'Proposer'];

/** Every type AWS documents; any other is recorded with no hint and acknowledged. */
export const KNOWN_AWS_EVENT_TYPES: ReadonlySet<string> = new Set([
  ...SNS_ACTION_HINTS.keys(),
  ...[...LICENSE_EVENT_HINTS.keys(), ...AGREEMENT_EVENTS].flatMap((name) =>
    ROLES.map((role) => `${name} - ${role}`),
  ),
]);

// "License Updated - Manufacturer" -> "License Updated"; copies of the docs use an en dash.
const ROLE_SUFFIX = /\s+[-\u2013]\s+(Manufacturer|Proposer)$/;
const eventNameOf = (detailType: string): string => detailType.replace(ROLE_SUFFIX, '');
const isRoleEvent = (detailType: string): boolean => ROLE_SUFFIX.test(detailType);

/** What the message says happened, or `null` when it does not say (or is unknown). */
export const hintOfAwsEventType = (type: string): LifecycleEvent | null =>
  SNS_ACTION_HINTS.get(type) ??
  (isRoleEvent(type) ? (LICENSE_EVENT_HINTS.get(eventNameOf(type)) ?? null) : null);

export type AwsNotificationKind = 'sns' | 'sns-raw' | 'eventbridge';

/** One marketplace notification read from an SQS record: what it names, and about it. */
interface AwsNotificationFields extends AwsSubject {
  /** SNS MessageId, EventBridge id, or for raw delivery `sqs:<SQS messageId>`. */
  readonly eventId: string;
  /** The SNS action or the EventBridge detail-type, as AWS wrote it. */
  readonly type: string;
  readonly productId?: string;
  /** When AWS sent it: SNS `Timestamp`, EventBridge `time`, or when SQS received a raw one. */
  readonly sentAtEpochMs?: number;
  /** The marketplace JSON as AWS sent it (the SNS Message decoded, or the event), for the audit. */
  readonly message: unknown;
}

/**
 * `envelope` is what an SNS signature check needs; raw deliveries and EventBridge events carry
 * no signature (an SQS queue is protected by IAM, so they need none).
 */
export type AwsMarketplaceNotification =
  | (AwsNotificationFields & { readonly kind: 'sns'; readonly envelope: SnsEnvelope })
  | (AwsNotificationFields & {
      readonly kind: 'sns-raw' | 'eventbridge';
      readonly envelope: null;
    });

/** The fields of a Lambda SQS record this parser reads. */
export interface SqsRecordLike {
  readonly messageId: string;
  readonly body: string;
  readonly attributes?: { readonly SentTimestamp?: string };
}

const printable = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const identifier = printable(255);
// ResolveCustomer allows 255 characters each, so `CustomerIdentifier:ProductCode` stays a
// key; neither ever holds the colon, which would make that key ambiguous.
const keyPart = identifier.refine((value) => !value.includes(':'), 'must not contain ":"');
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const accountId = z
  .string()
  .trim()
  .regex(/^[0-9]{1,32}$/, 'must be an AWS account id');
const licenseArn = printable(500).transform(normaliseLicenseArn);
// AWS sends the strings "true" and "false"; the sample compares case-insensitively.
const freeTrialFlag = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false']))
    .transform((flag) => flag === 'true'),
]);

const sqsRecordSchema = z
  .object({
    messageId: printable(128),
    body: z.string(),
    attributes: z.object({ SentTimestamp: z.string().optional() }).loose().nullish(),
  })
  .loose();

/** An ISO time or epoch milliseconds as epoch milliseconds; anything else is not a time. */
const epochMsOf = (value: string | undefined | null): number | undefined => {
  if (!value) return undefined;
  const epochMs = /^[0-9]{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(epochMs) ? epochMs : undefined;
};

/** The legacy SNS message (seller guide `saas-notification.md`). */
const snsMarketplaceMessage = z
  .object({
    action: printable(64),
    'customer-identifier': keyPart,
    'product-code': keyPart,
    'offer-identifier': identifier.nullish(),
    // Not in the official format; the AWS sample's own synthetic message carries it.
    'customer-aws-account-id': accountId.nullish(),
    isFreeTrialTermPresent: freeTrialFlag.nullish(),
  })
  .loose();

const part = <T extends z.ZodRawShape>(shape: T) => z.object(shape).loose().nullish();

/** An `aws.agreement-marketplace` event (seller guide `notifications-eventbridge.md`). */
const agreementMarketplaceEvent = z
  .object({
    id: printable(256),
    'detail-type': z
      .string()
      .trim()
      .min(1)
      .max(128)
      .refine((type) => !CONTROL_CHARACTERS.test(type), 'must not contain control characters'),
    time: z.string().max(64).nullish(),
    source: z.literal(AGREEMENT_MARKETPLACE_SOURCE, {
      error: `must be ${AGREEMENT_MARKETPLACE_SOURCE}`,
    }),
    detail: z
      .object({
        agreement: part({ id: identifier.nullish() }),
        product: part({ code: keyPart.nullish(), id: identifier.nullish() }),
        license: part({ arn: licenseArn.nullish() }),
        acceptor: part({ accountId: accountId.nullish() }),
        offer: part({ id: identifier.nullish() }),
      })
      .loose(),
  })
  .loose()
  .superRefine((event, context) => {
    const name = eventNameOf(event['detail-type']);
    const required: Array<[string[], unknown]> = [];
    if (LICENSE_EVENT_HINTS.has(name)) {
      required.push(
        [['license', 'arn'], event.detail.license?.arn],
        [['product', 'code'], event.detail.product?.code],
        [['acceptor', 'accountId'], event.detail.acceptor?.accountId],
      );
    } else if (AGREEMENT_EVENTS.includes(name)) {
      required.push(
        [['agreement', 'id'], event.detail.agreement?.id],
        [['acceptor', 'accountId'], event.detail.acceptor?.accountId],
      );
    }
    for (const [path, value] of required) {
      if (value == null) {
        context.addIssue({
          code: 'custom',
          path: ['detail', ...path],
          message: `a ${name} event carries detail.${path.join('.')}`,
        });
      }
    }
  });

const pathOf = (base: string, issue: z.ZodError['issues'][number]): string =>
  [base, ...issue.path.map(String)].join('.');

/** A `ValidationError` naming the first problem's path, with every problem in the message. */
const invalid = (error: z.ZodError, base: string): ValidationError =>
  new ValidationError(
    error.issues.map((issue) => `${pathOf(base, issue)}: ${issue.message}`).join('; '),
    { path: error.issues[0] ? pathOf(base, error.issues[0]) : base },
  );

const parseJson = (text: string, path: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`${path} is not JSON`, { cause: error, path });
  }
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Drops the optional fields that are absent, so a notification holds only what AWS said. */
const present = <T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: NonNullable<T[K]> } =>
  Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== null),
  ) as { [K in keyof T]?: NonNullable<T[K]> };

type Content = Omit<AwsNotificationFields, 'eventId'> & { readonly eventBridgeId?: string };

const isEventBridgeShaped = (json: Record<string, unknown>): boolean =>
  'detail-type' in json || 'source' in json || 'detail' in json;

/** Reads the marketplace JSON itself: an SNS action message or an EventBridge event. */
const readContent = (json: unknown, path: string): Content => {
  if (!isObject(json)) throw new ValidationError(`${path} is not a JSON object`, { path });
  if (isEventBridgeShaped(json)) {
    const parsed = agreementMarketplaceEvent.safeParse(json);
    if (!parsed.success) throw invalid(parsed.error, path);
    const { detail } = parsed.data;
    return {
      eventBridgeId: parsed.data.id,
      type: parsed.data['detail-type'],
      productCode: detail.product?.code ?? null,
      ...present({
        productId: detail.product?.id,
        customerAWSAccountId: detail.acceptor?.accountId,
        licenseArn: detail.license?.arn,
        offerId: detail.offer?.id,
        agreementId: detail.agreement?.id,
        sentAtEpochMs: epochMsOf(parsed.data.time),
      }),
      message: json,
    };
  }
  if ('action' in json) {
    const parsed = snsMarketplaceMessage.safeParse(json);
    if (!parsed.success) throw invalid(parsed.error, path);
    const message = parsed.data;
    return {
      type: message.action,
      productCode: message['product-code'],
      customerIdentifier: message['customer-identifier'],
      ...present({
        customerAWSAccountId: message['customer-aws-account-id'],
        offerId: message['offer-identifier'],
        freeTrial: message.isFreeTrialTermPresent,
      }),
      message: json,
    };
  }
  throw new ValidationError(
    `${path} is neither a marketplace message (action) nor an EventBridge event (detail-type)`,
    { path },
  );
};

/** An SNS-shaped body: a signed envelope, or the sample's unsigned one with an object Message. */
const readSnsShaped = (
  json: Record<string, unknown>,
  rawEventId: string,
  receivedAtEpochMs: number | undefined,
): AwsMarketplaceNotification => {
  if (json.Type === SnsMessageType.notification && typeof json.Message === 'string') {
    const parsed = snsEnvelopeSchema.safeParse(json);
    if (!parsed.success) throw invalid(parsed.error, 'body');
    const envelope = envelopeOf(parsed.data);
    const { eventBridgeId: _ignored, ...content } = readContent(
      parseJson(envelope.Message, 'body.Message'),
      'body.Message',
    );
    const sentAtEpochMs = epochMsOf(envelope.Timestamp);
    return {
      kind: 'sns',
      eventId: envelope.MessageId,
      ...content,
      ...(sentAtEpochMs === undefined ? {} : { sentAtEpochMs }),
      envelope,
    };
  }
  if (json.Type === SnsMessageType.notification && isObject(json.Message)) {
    const { eventBridgeId, ...content } = readContent(json.Message, 'body.Message');
    const sentAtEpochMs = epochMsOf(typeof json.Timestamp === 'string' ? json.Timestamp : null);
    return {
      kind: 'sns-raw',
      eventId: eventBridgeId ?? rawEventId,
      sentAtEpochMs: sentAtEpochMs ?? receivedAtEpochMs,
      ...content,
      envelope: null,
    };
  }
  if (json.Type === SnsMessageType.notification) {
    throw new ValidationError('body.Message must hold the marketplace message', {
      path: 'body.Message',
    });
  }
  if (
    json.Type === SnsMessageType.subscriptionConfirmation ||
    json.Type === SnsMessageType.unsubscribeConfirmation
  ) {
    // Confirmed once when the queue is subscribed; it is not a marketplace notification.
    throw new ValidationError(`an SNS ${json.Type} is not a marketplace notification`, {
      path: 'body.Type',
    });
  }
  throw new ValidationError('body.Type is not an SNS message type', { path: 'body.Type' });
};

/**
 * Reads one SQS record from the notifications queue, whichever way it was delivered:
 * - `sns`: SNS without raw delivery, the marketplace JSON as a string in `Message`;
 * - `sns-raw`: SNS raw delivery (the marketplace JSON itself), or the AWS sample's unsigned
 *   envelope whose `Message` is an object;
 * - `eventbridge`: an `aws.agreement-marketplace` event sent to the queue by a rule.
 *
 * @throws ValidationError naming the path of the first problem; such a record can never be
 * processed, so the caller records it and acknowledges it.
 */
export const parseSqsRecord = (record: SqsRecordLike): AwsMarketplaceNotification => {
  const parsedRecord = sqsRecordSchema.safeParse(record);
  if (!parsedRecord.success) throw invalid(parsedRecord.error, 'record');
  const { messageId, body, attributes } = parsedRecord.data;
  const receivedAtEpochMs = epochMsOf(attributes?.SentTimestamp);
  if (byteLength(body) > MAX_SQS_BODY_BYTES) {
    throw new ValidationError(`body is larger than ${MAX_SQS_BODY_BYTES} bytes`, { path: 'body' });
  }
  const json = parseJson(body, 'body');
  if (!isObject(json)) throw new ValidationError('body is not a JSON object', { path: 'body' });
  // The SQS messageId is kept across redeliveries of one message, so it dedupes retries; two
  // deliveries of one raw SNS message cost one more (idempotent) pass, not a lost message.
  const rawEventId = `sqs:${messageId}`;
  if ('Type' in json) return readSnsShaped(json, rawEventId, receivedAtEpochMs);
  const { eventBridgeId, ...content } = readContent(json, 'body');
  return eventBridgeId === undefined
    ? {
        kind: 'sns-raw',
        eventId: rawEventId,
        // A raw message carries no time of its own: when SQS received it is the closest.
        ...(receivedAtEpochMs === undefined ? {} : { sentAtEpochMs: receivedAtEpochMs }),
        ...content,
        envelope: null,
      }
    : { kind: 'eventbridge', eventId: eventBridgeId, ...content, envelope: null };
};

/**
 * A notification as the cloud-neutral command: the entitlement is the license (legacy:
 * `CustomerIdentifier:ProductCode`), the account the buyer's AWS account (legacy:
 * CustomerIdentifier). Unknown types get no hint, so they are recorded and acknowledged,
 * never retried.
 */
export const toMarketplaceEventCommand = (
  notification: AwsMarketplaceNotification,
): MarketplaceEventCommand => ({
  cloud: 'aws',
  eventId: notification.eventId,
  type: notification.type,
  accountId: awsAccountId(notification),
  entitlementId: awsEntitlementId(notification),
  hint: hintOfAwsEventType(notification.type),
  payload: notification.message,
  ...(notification.sentAtEpochMs === undefined
    ? {}
    : { sentAtEpochMs: notification.sentAtEpochMs }),
  aws: {
    productCode: notification.productCode,
    ...present({
      customerIdentifier: notification.customerIdentifier,
      customerAWSAccountId: notification.customerAWSAccountId,
      licenseArn: notification.licenseArn,
      offerId: notification.offerId,
      agreementId: notification.agreementId,
      freeTrial: notification.freeTrial,
    }),
  },
});
