import { GetEntitlementsCommand } from '@aws-sdk/client-marketplace-entitlement-service';
import type {
  Entitlement as AwsEntitlement,
  GetEntitlementFilterName,
  MarketplaceEntitlementServiceClient,
} from '@aws-sdk/client-marketplace-entitlement-service';
import { ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import type { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import type {
  AwsSubject,
  MarketplaceEventCommand,
  Observation,
  ObservedEntitlement,
} from '../../domain/decision';
import { normaliseLicenseArn } from '../../domain/aws-keys';
import { LifecycleEvent } from '../../domain/entitlement';
import { MarketplaceApiError, UnauthorizedError, ValidationError } from '../../domain/errors';
import type { ContractQuantity, EntitlementStatus } from '../../domain/model';
import type { Clock } from '../../ports/clock';
import type { BuyerResolver, MarketplaceObserver, ResolvedBuyer } from '../../ports/marketplace';
import { toMarketplaceApiError } from './aws-errors';

/** GetEntitlements pages hold at most 25. */
const PAGE_SIZE = 25;
/** An answer that keeps handing out tokens past this is broken; stop rather than loop. */
const MAX_PAGES = 400;

/** What a message says the subscription is now; AWS has no API that reads it. */
const STATUS_OF_HINT: ReadonlyMap<LifecycleEvent, EntitlementStatus> = new Map([
  [LifecycleEvent.activated, 'active'],
  [LifecycleEvent.cancellationScheduled, 'pending_cancellation'],
  [LifecycleEvent.cancelled, 'cancelled'],
  // entitlement-updated: the subscription stands, where it stood (an implied status, which the
  // decision does not move a stored one to); the contract read says whether it ended.
  [LifecycleEvent.updated, 'active'],
]);

const valueOf = (entitlement: AwsEntitlement): ContractQuantity['value'] => {
  const value = entitlement.Value;
  return (
    value?.IntegerValue ?? value?.DoubleValue ?? value?.BooleanValue ?? value?.StringValue ?? true
  );
};

const contractOf = (entitlements: readonly AwsEntitlement[]): ContractQuantity[] =>
  entitlements
    .map((entitlement) => ({
      dimension: entitlement.Dimension ?? '',
      value: valueOf(entitlement),
      expiresAtEpochMs: entitlement.ExpirationDate?.getTime() ?? null,
    }))
    // AWS does not promise an order; a stable one keeps an unchanged contract unchanged.
    .sort((a, b) => a.dimension.localeCompare(b.dimension));

const hasExpired = (contract: readonly ContractQuantity[], nowEpochMs: number): boolean =>
  contract.length > 0 &&
  contract.every(
    (quantity) => quantity.expiresAtEpochMs !== null && quantity.expiresAtEpochMs <= nowEpochMs,
  );

/** What AWS said, kept as the snapshot: JSON-safe and without anything personal. */
const snapshotDataOf = (
  command: MarketplaceEventCommand,
  subject: AwsSubject,
  contract: readonly ContractQuantity[] | null,
): Record<string, unknown> => ({
  type: command.type,
  ...subject,
  ...(contract === null ? {} : { contract }),
});

/**
 * Re-reads AWS Marketplace for an AWS message. AWS has no API that reads a SaaS subscription,
 * so the message says where the subscription is (subscribe-success, unsubscribe-pending, ...),
 * timestamped with when AWS sent it so an older message never overwrites a newer one. What
 * can be read is read: `entitlement-updated` and `License Updated` fetch the contract with
 * GetEntitlements (every page, empty pages included), and a contract whose every dimension
 * has expired deprovisions the purchase.
 */
export const createAwsMarketplaceObserver = (options: {
  readonly client: MarketplaceEntitlementServiceClient;
  readonly clock: Clock;
}): MarketplaceObserver => {
  const readContract = async (
    productCode: string,
    subject: AwsSubject,
  ): Promise<ContractQuantity[]> => {
    const filter: Partial<Record<GetEntitlementFilterName, string[]>> = subject.licenseArn
      ? { LICENSE_ARN: [subject.licenseArn] }
      : { CUSTOMER_IDENTIFIER: [subject.customerIdentifier ?? ''] };
    const found: AwsEntitlement[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      let output;
      try {
        output = await options.client.send(
          new GetEntitlementsCommand({
            ProductCode: productCode,
            Filter: filter,
            MaxResults: PAGE_SIZE,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
      } catch (error) {
        throw toMarketplaceApiError(error, 'GetEntitlements');
      }
      found.push(...(output.Entitlements ?? []));
      // An empty page may still carry a token: only its absence ends the list.
      nextToken = output.NextToken || undefined;
      if (!nextToken) return contractOf(found);
    }
    throw new MarketplaceApiError(`GetEntitlements handed out more than ${MAX_PAGES} pages`, {
      retryable: true,
      code: 'TooManyPages',
    });
  };

  return {
    observe: async (command: MarketplaceEventCommand): Promise<Observation> => {
      const subject = command.aws;
      if (command.cloud !== 'aws' || subject === undefined) {
        throw new ValidationError('an AWS observation needs an AWS message', { path: 'aws' });
      }
      const status = command.hint === null ? undefined : STATUS_OF_HINT.get(command.hint);
      // Agreement events and unknown types say nothing about an entitlement: recorded only.
      if (
        status === undefined ||
        !command.entitlementId ||
        !command.accountId ||
        !subject.productCode
      ) {
        return {};
      }
      const nowEpochMs = options.clock.now();
      const readsContract =
        command.hint === LifecycleEvent.updated ||
        (command.hint === LifecycleEvent.activated && subject.licenseArn !== undefined);
      const contract = readsContract ? await readContract(subject.productCode, subject) : null;
      // entitlement-updated with no entitlement left means the contract is gone (as AWS's
      // sample reads it); a contract whose every dimension expired deprovisions the purchase.
      const ended =
        contract !== null &&
        (hasExpired(contract, nowEpochMs) ||
          (command.hint === LifecycleEvent.updated && contract.length === 0));
      const observed: ObservedEntitlement = {
        accountId: command.accountId,
        productId: subject.productCode,
        status: ended ? 'cancelled' : status,
        ...(command.hint === LifecycleEvent.updated && !ended ? { statusImplied: true } : {}),
        snapshot: {
          updateTimeEpochMs: command.sentAtEpochMs ?? nowEpochMs,
          data: snapshotDataOf(command, subject, contract),
        },
        ...(contract === null ? {} : { contract }),
        ...(subject.freeTrial === undefined ? {} : { freeTrial: subject.freeTrial }),
        ...(subject.offerId
          ? { offer: { id: subject.offerId, startEpochMs: null, endEpochMs: null, duration: null } }
          : {}),
      };
      return {
        // AWS knows a buyer account by its id alone: one that never changes, so a stored
        // account is left as it is and a new one waits for the buyer's signup.
        account: { status: 'pending_signup', snapshot: { updateTimeEpochMs: 0, data: {} } },
        entitlement: observed,
      };
    },
  };
};

/** ResolveCustomer's exceptions that mean the buyer must start again from AWS Marketplace. */
const TOKEN_REFUSED = new Set(['InvalidTokenException', 'ExpiredTokenException']);

/**
 * Resolves the registration token of the buyer's browser form with ResolveCustomer, in the
 * account that published the product. The token is used once and never kept.
 */
export const createAwsBuyerResolver = (options: {
  readonly client: MarketplaceMeteringClient;
}): BuyerResolver => ({
  resolve: async (registrationToken: string): Promise<ResolvedBuyer> => {
    let output;
    try {
      output = await options.client.send(
        new ResolveCustomerCommand({ RegistrationToken: registrationToken }),
      );
    } catch (error) {
      const failure = toMarketplaceApiError(error, 'ResolveCustomer');
      if (TOKEN_REFUSED.has(failure.code ?? '')) {
        throw new UnauthorizedError(`the registration token was refused (${failure.code})`, {
          cause: error,
        });
      }
      throw failure;
    }
    if (!output.ProductCode || !(output.CustomerAWSAccountId || output.CustomerIdentifier)) {
      throw new MarketplaceApiError('ResolveCustomer answered without the buyer or the product', {
        retryable: false,
        code: 'IncompleteAnswer',
      });
    }
    return {
      productCode: output.ProductCode,
      ...(output.CustomerIdentifier ? { customerIdentifier: output.CustomerIdentifier } : {}),
      ...(output.CustomerAWSAccountId ? { customerAWSAccountId: output.CustomerAWSAccountId } : {}),
      ...(output.LicenseArn ? { licenseArn: normaliseLicenseArn(output.LicenseArn) } : {}),
    };
  },
});
