import { awsAccountId, awsEntitlementId } from '../domain/aws-keys';
import { isNewSignup, outboxMessagesFor, signedUpAccount } from '../domain/decision';
import type { Decision } from '../domain/decision';
import { newEntitlement } from '../domain/entitlement';
import { ConcurrencyConflictError, UnauthorizedError } from '../domain/errors';
import { EventOutcome } from '../domain/model';
import type { Account, Entitlement } from '../domain/model';
import { VendorEventType } from '../domain/vendor-events';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { BuyerResolver, ResolvedBuyer } from '../ports/marketplace';
import type { Store } from '../ports/store';
import { followAccountTenant } from './link-account-entitlements';

export interface RegisterAwsBuyerDeps {
  readonly store: Store;
  readonly resolver: BuyerResolver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly eventTtlSeconds: number;
  /** The listing's product: a token of another product is refused. */
  readonly productCode: string;
  /** A new vendor tenant id, for a buyer account seen for the first time. */
  readonly newTenantId: () => string;
  readonly maxAttempts?: number;
}

export interface RegisterAwsBuyerInput {
  /** From the buyer's browser form; resolved once, never stored or logged. */
  readonly registrationToken: string;
  /** The form said `x-amzn-marketplace-offer-type=free-trial`. */
  readonly freeTrial: boolean;
  /** Identifies this registration in the event log. */
  readonly signupId: string;
}

export interface RegisterAwsBuyerResult {
  readonly tenantId: string;
  readonly accountId: string;
  readonly entitlementId: string;
  /**
   * This registration sent `account.signed_up`: the account's first, or one that gave an account an
   * admin had unlinked a new tenant.
   */
  readonly firstSignup: boolean;
}

interface Stored {
  readonly account: Account | null;
  readonly entitlement: Entitlement | null;
}

/**
 * The one write of a registration, from what is stored now: the account signed up and linked
 * to a tenant, and the purchase recorded (waiting for AWS to confirm it) or, when a
 * notification came first, linked to that tenant. Whichever comes first, the other finds it.
 */
const registrationDecision = (
  stored: Stored,
  buyer: ResolvedBuyer,
  keys: { accountId: string; entitlementId: string },
  input: RegisterAwsBuyerInput,
  context: { nowEpochMs: number; newTenantId: () => string; eventTtlSeconds: number },
): Decision => {
  const { nowEpochMs } = context;
  const account = signedUpAccount({ cloud: 'aws', id: keys.accountId }, stored.account, {
    nowEpochMs,
    newTenantId: context.newTenantId,
  });
  const tenantId = account.tenant!.tenantId;
  const existing = stored.entitlement;
  const freeTrial = input.freeTrial || (existing?.freeTrial ?? false);
  const entitlement: Entitlement | null =
    existing === null
      ? newEntitlement(
          { cloud: 'aws', id: keys.entitlementId },
          {
            accountId: keys.accountId,
            productId: buyer.productCode,
            // Subscribed, not yet confirmed by subscribe-success or License Updated.
            status: 'pending_approval',
            freeTrial,
            tenantId,
          },
          nowEpochMs,
        )
      : existing.tenantId === null || existing.freeTrial !== freeTrial
        ? {
            ...existing,
            tenantId: existing.tenantId ?? tenantId,
            freeTrial,
            updatedAtEpochMs: nowEpochMs,
          }
        : null;
  const eventId = input.signupId;
  const accountEvents = isNewSignup(stored.account) ? [VendorEventType.accountSignedUp] : [];
  const entitlementEvents = existing === null ? [VendorEventType.entitlementPendingApproval] : [];
  return {
    event: {
      cloud: 'aws',
      eventId,
      type: 'SIGNUP',
      accountId: keys.accountId,
      entitlementId: keys.entitlementId,
      outcome: EventOutcome.applied,
      reason: null,
      // What AWS said of the buyer: ids only, never the token.
      payload: { ...buyer, freeTrial: input.freeTrial },
      receivedAtEpochMs: nowEpochMs,
      expiresAtEpochSeconds: Math.floor(nowEpochMs / 1000) + context.eventTtlSeconds,
    },
    account: { next: account, expectedVersion: stored.account?.version ?? 0 },
    entitlement: entitlement
      ? { next: entitlement, expectedVersion: existing?.version ?? 0 }
      : null,
    outbox: [
      ...outboxMessagesFor(
        { cloud: 'aws', eventId },
        accountEvents,
        { accountId: keys.accountId, entitlement: null, tenantId },
        nowEpochMs,
      ),
      ...outboxMessagesFor(
        { cloud: 'aws', eventId },
        entitlementEvents,
        { accountId: keys.accountId, entitlement, tenantId },
        nowEpochMs,
        accountEvents.length,
      ),
    ],
  };
};

/**
 * Registers a buyer who arrived from AWS Marketplace with a registration token:
 * 1. resolves the token (ResolveCustomer), refusing another product's;
 * 2. in one atomic write, records the account as signed up with its vendor tenant (a new one
 *    when it has none: the first time, and after an admin unlinked it; `account.signed_up`
 *    then tells the vendor) and the purchase (LicenseArn, or legacy
 *    `CustomerIdentifier:ProductCode`), created waiting for AWS's confirmation or, when the
 *    notification came first, linked to the tenant; a lost race with a notification is
 *    decided again from what is stored then;
 * 3. gives the account's other purchases (concurrent agreements) the account's tenant, as
 *    stored after that write (an unlink that commits meanwhile wins).
 *
 * @throws UnauthorizedError when the token is invalid, expired or of another product.
 * @throws MarketplaceApiError (retryable when AWS may recover).
 */
export const registerAwsBuyer = async (
  deps: RegisterAwsBuyerDeps,
  input: RegisterAwsBuyerInput,
): Promise<RegisterAwsBuyerResult> => {
  const buyer = await deps.resolver.resolve(input.registrationToken);
  if (buyer.productCode !== deps.productCode) {
    throw new UnauthorizedError(`the registration token is for product ${buyer.productCode}`);
  }
  const accountId = awsAccountId(buyer);
  const entitlementId = awsEntitlementId(buyer);
  if (accountId === null || entitlementId === null) {
    throw new UnauthorizedError('ResolveCustomer named neither a license nor a customer');
  }
  const keys = { accountId, entitlementId };
  const logger = deps.logger.child({ cloud: 'aws', accountId, entitlementId });
  for (let attempt = 1; ; attempt += 1) {
    const [account, entitlement] = await Promise.all([
      deps.store.getAccount({ cloud: 'aws', id: accountId }),
      deps.store.getEntitlement({ cloud: 'aws', id: entitlementId }),
    ]);
    const decision = registrationDecision({ account, entitlement }, buyer, keys, input, {
      nowEpochMs: deps.clock.now(),
      newTenantId: deps.newTenantId,
      eventTtlSeconds: deps.eventTtlSeconds,
    });
    try {
      await deps.store.applyDecision(decision);
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= (deps.maxAttempts ?? 5)) {
        throw error;
      }
      logger.warn('registration lost a race, deciding again', { attempt });
      continue;
    }
    const tenantId = decision.account!.next.tenant!.tenantId;
    await followAccountTenant(deps, { cloud: 'aws', id: accountId });
    const firstSignup = isNewSignup(account);
    logger.info('buyer registered', { tenantId, firstSignup, attempt });
    return { tenantId, accountId, entitlementId, firstSignup };
  }
};
