/** The Google Cloud adapters: what a Google function imports besides `shared` and its store. */
export { createProcurementClient } from './procurement-client';
export type { ProcurementClient } from './procurement-client';
export { createGcpMarketplace, createGcpMarketplaceFromConfig } from './gcp-marketplace';
export { observeAccount, observeEntitlement } from './gcp-observation';
export { parseMarketplaceMessage, pubsubMessageOf, KNOWN_EVENT_TYPES } from './pubsub-message';
export {
  createOidcVerifier,
  createSignupTokenVerifier,
  SIGNUP_TOKEN_ISSUER,
} from './google-tokens';
export type { SignupClaims } from './google-tokens';
export { createServiceControlClient } from './service-control-client';
