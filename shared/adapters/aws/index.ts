/** The AWS edge adapters: what an AWS function imports to read its triggers. */
export {
  AGREEMENT_MARKETPLACE_SOURCE,
  KNOWN_AWS_EVENT_TYPES,
  MAX_SQS_BODY_BYTES,
  hintOfAwsEventType,
  parseSqsRecord,
  toMarketplaceEventCommand,
} from './sqs-record';
export type { AwsMarketplaceNotification, AwsNotificationKind, SqsRecordLike } from './sqs-record';
export { awsAccountId, awsEntitlementId, normaliseLicenseArn } from '../../domain/aws-keys';
export { createAwsBuyerResolver, createAwsMarketplaceObserver } from './aws-marketplace';
export { SnsMessageType, snsEnvelopeSchema, stringToSign } from './sns-envelope';
export type { SnsEnvelope } from './sns-envelope';
export { createSnsVerifier } from './sns-signature';
export type { SnsVerifierOptions } from './sns-signature';
export {
  MAX_REGISTRATION_BODY_BYTES,
  MAX_REGISTRATION_TOKEN_BYTES,
  OFFER_TYPE_FIELD,
  REGISTRATION_TOKEN_FIELD,
  parseRegistrationForm,
} from './registration-form';
export type { RegistrationForm, RegistrationRequest } from './registration-form';
export { createAwsUsageMeter } from './aws-usage-meter';
export { toMarketplaceApiError as toAwsMarketplaceApiError } from './aws-errors';
export { createEntitlementClient, createMeteringClient } from './aws-clients';
export { METRIC_NAMESPACE, metricLine } from './metric-line';
export { createAwsMeteringDeps } from './aws-metering-deps';
