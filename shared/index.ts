/**
 * The core lifecycle library: what a function may import besides one adapter entry point
 * (`shared/adapters/dynamodb`, `shared/adapters/firestore`, ...).
 */
export * from './domain/errors';
export * from './domain/model';
export * from './domain/entitlement';
export * from './domain/decision';
export * from './domain/vendor-events';
export * from './domain/limits';
export * from './domain/time';
export type { Clock } from './ports/clock';
export { systemClock } from './ports/clock';
export type { Logger, LogFields } from './ports/logger';
export type * from './ports/store';
export * from './app/handle-marketplace-event';
export * from './config/env';
export * from './config/load-config';
export { createJsonLogger, redact } from './adapters/logging/json-logger';
export * from './domain/approval-policy';
export * from './app/answer-marketplace';
export * from './app/complete-signup';
export * from './app/record-dead-letter';
export * from './config/gcp-config';
export {
  onboardingLocation,
  signHandoffToken,
  verifyHandoffToken,
} from './adapters/handoff/handoff-token';
export type { Handoff } from './adapters/handoff/handoff-token';
export * from './app/report-usage-to-service-control';
export * from './domain/usage-window';
export type * from './ports/usage-reporter';
export * from './app/meter-usage-to-aws';
export * from './app/rate-limiter';
export type * from './ports/usage-meter';
export * from './config/aws-config';
export * from './app/register-aws-buyer';
export * from './app/link-account-entitlements';
export type * from './ports/marketplace';
export * from './domain/personal-data';
export * from './app/purge-personal-data';
export * from './config/retention-config';
export * from './app/deliver-webhooks';
export * from './config/webhook-config';
export * from './domain/webhook-backoff';
export type * from './ports/webhook-sender';
export * from './domain/vendor-event-schemas';
export * from './app/link-tenant-account';
export * from './app/replay-vendor-events';
export * from './app/read-vendor-records';
export * from './config/vendor-config';
