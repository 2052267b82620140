/** Webhooks to the vendor's app: how they are signed, and the check the app runs on them. */
export {
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from './webhook-signature';
