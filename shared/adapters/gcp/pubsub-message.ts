import { z } from 'zod';
import type { MarketplaceEventCommand } from '../../domain/decision';
import type { LifecycleEvent } from '../../domain/entitlement';
import { ValidationError } from '../../domain/errors';

/** A Pub/Sub message as both deliveries carry it: push body `message`, CloudEvent `data.message`. */
const pubsubMessage = z.object({
  data: z.string().min(1, 'message.data is empty'),
  messageId: z.string().min(1),
  publishTime: z.string().optional(),
  attributes: z.record(z.string(), z.string()).nullish(),
});

/**
 * The envelope both deliveries share: the push subscription's request body, and the `data` of
 * an Eventarc `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent.
 */
export const pubsubEnvelopeSchema = z.object({
  message: pubsubMessage,
  subscription: z.string().optional(),
});

const id = z.string().trim().min(1).max(512);

/** What Google publishes for accounts and entitlements (the reference's payload shapes). */
const marketplacePayload = z
  .object({
    eventId: id,
    eventType: z.string().trim().min(1).max(128).optional(),
    providerId: id,
    account: z.object({ id, updateTime: z.string().optional() }).loose().optional(),
    entitlement: z.object({ id, updateTime: z.string().optional() }).loose().optional(),
  })
  .loose()
  .refine((p) => (p.account === undefined) !== (p.entitlement === undefined), {
    message: 'a message names exactly one account or one entitlement',
  });

/** What each entitlement event says happened, where that is a lifecycle step. */
const HINTS: ReadonlyMap<string, LifecycleEvent> = new Map(
  Object.entries({
    ENTITLEMENT_ACTIVE: 'activated',
    ENTITLEMENT_PLAN_CHANGE_REQUESTED: 'plan_change_requested',
    ENTITLEMENT_PLAN_CHANGED: 'plan_changed',
    ENTITLEMENT_PLAN_CHANGE_CANCELLED: 'plan_change_cancelled',
    ENTITLEMENT_PENDING_CANCELLATION: 'cancellation_scheduled',
    ENTITLEMENT_CANCELLATION_REVERTED: 'cancellation_reverted',
    ENTITLEMENT_CANCELLED: 'cancelled',
    ENTITLEMENT_RENEWED: 'renewed',
    ENTITLEMENT_OFFER_ACCEPTED: 'updated',
    ENTITLEMENT_OFFER_ENDED: 'updated',
    ENTITLEMENT_DELETED: 'deleted',
  } satisfies Record<string, LifecycleEvent>),
);

/** Every event type Google documents; anything else is recorded and acknowledged. */
export const KNOWN_EVENT_TYPES = new Set([
  'ACCOUNT_CREATION_REQUESTED',
  'ACCOUNT_ACTIVE',
  'ACCOUNT_DELETED',
  'ENTITLEMENT_CREATION_REQUESTED',
  'ENTITLEMENT_CANCELLING',
  ...HINTS.keys(),
]);

const describe = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');

/**
 * A Pub/Sub message from Google Cloud Marketplace as a command, or a `ValidationError` saying
 * why it can never be processed (the caller dead-letters it and acknowledges).
 */
export const parseMarketplaceMessage = (
  message: z.infer<typeof pubsubMessage>,
  expectedProviderId: string,
): MarketplaceEventCommand => {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch (error) {
    throw new ValidationError('message.data is not base64-encoded JSON', {
      cause: error,
      path: 'message.data',
    });
  }
  const parsed = marketplacePayload.safeParse(json);
  if (!parsed.success) throw new ValidationError(describe(parsed.error), { path: 'message.data' });
  const payload = parsed.data;
  if (payload.providerId !== expectedProviderId) {
    throw new ValidationError('the message is for another provider', { path: 'providerId' });
  }
  const type =
    payload.eventType ?? (payload.account ? 'ACCOUNT_EVENT_WITHOUT_TYPE' : 'ENTITLEMENT_EVENT');
  return {
    cloud: 'gcp',
    eventId: payload.eventId,
    type,
    accountId: payload.account?.id ?? null,
    entitlementId: payload.entitlement?.id ?? null,
    hint: HINTS.get(type) ?? null,
    payload: json,
  };
};

/** Pulls the Pub/Sub message out of a push body or CloudEvent data, or throws a `ValidationError`. */
export const pubsubMessageOf = (body: unknown): z.infer<typeof pubsubMessage> => {
  const parsed = pubsubEnvelopeSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(describe(parsed.error), { path: 'body' });
  return parsed.data.message;
};
