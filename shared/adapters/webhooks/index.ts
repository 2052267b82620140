/** Webhooks to the vendor's app: how they are signed and sent, and the check the app runs on them. */
export {
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from './webhook-signature';
export {
  EVENT_ID_HEADER,
  WEBHOOK_USER_AGENT,
  createHttpWebhookSender,
} from './http-webhook-sender';
export type { HttpWebhookSenderOptions } from './http-webhook-sender';
export { createWebhookDeliveryDeps, storeDeliveringWebhooks } from './webhook-delivery-deps';
