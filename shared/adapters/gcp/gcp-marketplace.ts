import { GONE } from '../../domain/decision';
import type { MarketplaceEventCommand, Observation } from '../../domain/decision';
import type { MarketplaceApprovals, MarketplaceObserver } from '../../ports/marketplace';
import { lastSegment, observeAccount, observeEntitlement } from './gcp-observation';
import { createProcurementClient } from './procurement-client';
import type { ProcurementClient } from './procurement-client';
import { KNOWN_EVENT_TYPES } from './pubsub-message';

/**
 * Google Cloud Marketplace behind the cloud-neutral ports: re-reads accounts and entitlements
 * through the Procurement API and gives it the vendor's answers.
 */
export const createGcpMarketplace = (
  procurement: ProcurementClient,
): MarketplaceObserver & MarketplaceApprovals => ({
  observe: async (command: MarketplaceEventCommand): Promise<Observation> => {
    // Unknown and deprecated types are recorded as they came, without a read.
    if (!KNOWN_EVENT_TYPES.has(command.type) || command.type === 'ACCOUNT_CREATION_REQUESTED') {
      return {};
    }
    if (command.entitlementId) {
      const entitlement = await procurement.getEntitlement(command.entitlementId);
      return { entitlement: entitlement ? observeEntitlement(entitlement) : GONE };
    }
    if (command.accountId) {
      const account = await procurement.getAccount(command.accountId);
      return { account: account ? observeAccount(account) : GONE };
    }
    return {};
  },

  approveSignup: (accountId) => procurement.approveAccount(accountId, 'signup'),

  listAwaitingApproval: async (accountId) => {
    // Quoted: account ids are opaque and may hold characters the filter grammar reserves.
    const filter = `account="${accountId.replaceAll('"', '\\"')}" state=ACTIVATION_REQUESTED`;
    const entitlements = await procurement.listEntitlements(filter);
    return entitlements.map((entitlement) => ({
      id: lastSegment(entitlement.name),
      observed: observeEntitlement(entitlement),
    }));
  },

  approveEntitlement: (id) => procurement.approveEntitlement(id),
  rejectEntitlement: (id, reason) => procurement.rejectEntitlement(id, reason),
  approvePlanChange: (id, plan) => procurement.approvePlanChange(id, plan),
  rejectPlanChange: (id, plan, reason) => procurement.rejectPlanChange(id, plan, reason),
  askBuyerToSignUp: (id, message) => procurement.setMessageToUser(id, message),
});

/** Google Cloud Marketplace as a function's configuration names it. */
export const createGcpMarketplaceFromConfig = (config: {
  readonly providerId: string;
  readonly procurementApiUrl: string;
}) =>
  createGcpMarketplace(
    createProcurementClient({ providerId: config.providerId, baseUrl: config.procurementApiUrl }),
  );
