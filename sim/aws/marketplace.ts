import type { SimClock } from '../clock';
import { simError } from '../http/http-error';
import type { AwsIds } from './ids';
import type {
  ContractValue,
  License,
  NotificationStyle,
  Product,
  RegistrationToken,
  ResolvedCustomer,
} from './model';
import type { EventContext, Notification } from './notifications';
import {
  agreementEvent,
  entitlementNotification,
  licenseEvent,
  subscriptionNotification,
} from './notifications';

/**
 * AWS Marketplace's side of a SaaS listing: buyers subscribe (a license, an agreement and a
 * registration token), cancel, fail to pay and change contracts; each change returns the
 * notifications AWS would send, which the caller delivers. No I/O here.
 */
export interface SubscribeInput {
  readonly productCode: string;
  readonly style?: NotificationStyle;
  /** A CustomerIdentifier product (SNS era); the default when `style` is SNS. */
  readonly legacy?: boolean;
  readonly freeTrial?: boolean;
  readonly contract?: Readonly<Record<string, ContractValue>>;
  /** End of the contract (RFC 3339); a year from now when unset. */
  readonly expiresAt?: string;
  readonly customerAWSAccountId?: string;
  readonly offerId?: string;
  /** Sold by a channel partner: Manufacturer agreement events instead of Proposer ones. */
  readonly cppo?: boolean;
  /** Leave the subscription unconfirmed until `confirm` (or `fail`). */
  readonly pending?: boolean;
}

export const LICENSE_ACTIONS = [
  'confirm',
  'fail',
  'unsubscribe',
  'unsubscribe-complete',
  'update-contract',
] as const;
export type LicenseAction = (typeof LICENSE_ACTIONS)[number];

export interface LicenseActionInput {
  /** Dimensions to set; `null` removes one. */
  readonly contract?: Readonly<Record<string, ContractValue | null>>;
  readonly expiresAt?: string;
}

export interface ChangeResult {
  readonly license: License;
  readonly notifications: readonly Notification[];
}

export interface SubscribeResult extends ChangeResult {
  readonly registrationToken: string;
}

export interface AwsMarketplaceOptions {
  readonly products: readonly Product[];
  readonly sellerAccountId: string;
  readonly region: string;
  readonly clock: SimClock;
  readonly ids: AwsIds;
  readonly registrationTokenTtlMs: number;
  /** How EventBridge events print a license ARN. */
  readonly eventLicenseArn: () => 'without-prefix' | 'with-prefix';
}

export interface AwsMarketplace {
  readonly sellerAccountId: string;
  readonly region: string;
  products(): readonly Product[];
  product(code: string): Product | undefined;
  subscribe(input: SubscribeInput): SubscribeResult;
  /** `arnOrId` is the license ARN or its `l-…` id. */
  act(arnOrId: string, action: LicenseAction, input?: LicenseActionInput): ChangeResult;
  license(arnOrId: string): License | undefined;
  licenses(): readonly License[];
  /** The legacy license a CustomerIdentifier names for a product, the latest first. */
  licensesOfCustomer(productCode: string, customerIdentifier: string): readonly License[];
  licensesOfAccount(productCode: string, accountId: string): readonly License[];
  /** A fresh registration token for the license ("Set up your account" again). */
  mintToken(arnOrId: string, ttlMs?: number): RegistrationToken;
  resolveToken(token: string): RegistrationToken | undefined;
  reset(): void;
}

const YEAR_MS = 365 * 86_400_000;

export const createAwsMarketplace = (options: AwsMarketplaceOptions): AwsMarketplace => {
  const { clock, ids, sellerAccountId, region } = options;
  const productsByCode = new Map(options.products.map((product) => [product.code, product]));
  let licenses = new Map<string, License>();
  let customerIds = new Map<string, string>();
  let tokens = new Map<string, RegistrationToken>();

  const productOf = (code: string): Product => {
    const product = productsByCode.get(code);
    if (!product) {
      throw simError(
        404,
        `product "${code}" is not configured; products: ${[...productsByCode.keys()].join(', ')}`,
      );
    }
    return product;
  };

  const find = (arnOrId: string): License | undefined =>
    licenses.get(arnOrId) ??
    [...licenses.values()].find((license) => license.arn.endsWith(`:license:${arnOrId}`));

  const get = (arnOrId: string): License => {
    const license = find(arnOrId);
    if (!license) throw simError(404, `license ${arnOrId} not found`);
    return license;
  };

  const checkContract = (
    product: Product,
    contract: Readonly<Record<string, unknown>> | undefined,
  ): void => {
    const allowed = product.contractDimensions;
    if (!allowed) return;
    for (const dimension of Object.keys(contract ?? {})) {
      if (!allowed.has(dimension)) {
        throw simError(
          400,
          `"${dimension}" is not a contract dimension of ${product.code}; dimensions: ${[...allowed].join(', ')}`,
        );
      }
    }
  };

  const expiry = (expiresAt: string | undefined, fallbackMs: number): number => {
    if (expiresAt === undefined) return fallbackMs;
    const ms = Date.parse(expiresAt);
    if (Number.isNaN(ms))
      throw simError(400, `expiresAt must be an RFC 3339 time, not ${expiresAt}`);
    return ms;
  };

  const eventContext = (): EventContext => ({
    id: ids.uuid(),
    requestId: ids.uuid(),
    nowMs: clock.nowMs(),
    sellerAccountId,
    region,
    licenseArn: (arn) =>
      options.eventLicenseArn() === 'without-prefix' ? arn.replace(/^arn:/, '') : arn,
  });

  const isSns = (license: License): boolean => license.style !== 'eventbridge';

  const subscribed = (license: License): Notification[] => {
    const product = productOf(license.productCode);
    if (isSns(license)) {
      return [
        subscriptionNotification(license, 'subscribe-success', { region }),
        // A contract is an entitlement: the entitlement topic says so too.
        ...(Object.keys(license.contract).length
          ? [entitlementNotification(license, { region })]
          : []),
      ];
    }
    return [
      agreementEvent('Purchase Agreement Created', license, product, eventContext()),
      licenseEvent('License Updated', license, product, eventContext()),
    ];
  };

  const ended = (license: License): Notification[] => {
    const product = productOf(license.productCode);
    return [
      agreementEvent('Purchase Agreement Ended', license, product, eventContext()),
      licenseEvent('License Deprovisioned', license, product, eventContext()),
    ];
  };

  const mintToken = (
    arnOrId: string,
    ttlMs = options.registrationTokenTtlMs,
  ): RegistrationToken => {
    const license = get(arnOrId);
    const answer: ResolvedCustomer = license.legacy
      ? {
          CustomerIdentifier: license.customerIdentifier,
          CustomerAWSAccountId: license.customerAWSAccountId,
          ProductCode: license.productCode,
        }
      : {
          CustomerAWSAccountId: license.customerAWSAccountId,
          LicenseArn: license.arn,
          ProductCode: license.productCode,
        };
    const token: RegistrationToken = {
      token: ids.registrationToken(),
      licenseArn: license.arn,
      expiresAtMs: clock.nowMs() + ttlMs,
      answer,
    };
    tokens.set(token.token, token);
    return token;
  };

  const conflict = (license: License, action: LicenseAction): never => {
    throw simError(409, `cannot ${action} license ${license.arn}: it is ${license.status}`);
  };

  const subscribe = (input: SubscribeInput): SubscribeResult => {
    const product = productOf(input.productCode);
    const snsStyle = input.style === 'sns' || input.style === 'sns-raw';
    if (input.legacy === false && snsStyle) {
      throw simError(
        400,
        'SNS notifications name buyers by customer-identifier, which only legacy products have: drop legacy: false or use style eventbridge',
      );
    }
    const legacy = input.legacy ?? snsStyle;
    const style = input.style ?? (legacy ? 'sns' : 'eventbridge');
    checkContract(product, input.contract);
    const nowMs = clock.nowMs();
    const accountId = input.customerAWSAccountId ?? ids.accountId();

    if (legacy) {
      // A legacy listing has one subscription per account; resubscribing before
      // unsubscribe-success turns it back into subscribe-success (seller guide).
      const live = [...licenses.values()].find(
        (license) =>
          license.legacy &&
          license.productCode === product.code &&
          license.customerAWSAccountId === accountId &&
          ['pending', 'active', 'unsubscribe-pending'].includes(license.status),
      );
      if (live && live.status !== 'unsubscribe-pending') {
        throw simError(
          409,
          `account ${accountId} already subscribes to ${product.code} (${live.arn}); legacy products allow one subscription per account`,
        );
      }
      if (live) {
        live.status = 'active';
        delete live.unsubscribeRequestedAtMs;
        return {
          license: live,
          registrationToken: mintToken(live.arn).token,
          notifications: [subscriptionNotification(live, 'subscribe-success', { region })],
        };
      }
    }

    const customerKey = `${product.code}|${accountId}`;
    let customerIdentifier: string | undefined;
    if (legacy) {
      customerIdentifier = customerIds.get(customerKey) ?? ids.customerIdentifier();
      customerIds.set(customerKey, customerIdentifier);
    }
    const license: License = {
      arn: ids.licenseArn(),
      agreementId: ids.agreementId(),
      productCode: product.code,
      customerAWSAccountId: accountId,
      ...(customerIdentifier ? { customerIdentifier } : {}),
      legacy,
      style,
      offerId: input.offerId ?? product.offerId,
      freeTrial: input.freeTrial ?? false,
      cppo: input.cppo ?? false,
      proposerAccountId: input.cppo ? ids.accountId() : sellerAccountId,
      contract: { ...input.contract },
      contractExpiresAtMs: expiry(input.expiresAt, nowMs + YEAR_MS),
      status: input.pending ? 'pending' : 'active',
      createdAtMs: nowMs,
      ...(input.pending ? {} : { subscribedAtMs: nowMs }),
    };
    licenses.set(license.arn, license);
    return {
      license,
      registrationToken: mintToken(license.arn).token,
      notifications: input.pending ? [] : subscribed(license),
    };
  };

  const act = (
    arnOrId: string,
    action: LicenseAction,
    input: LicenseActionInput = {},
  ): ChangeResult => {
    const license = get(arnOrId);
    const nowMs = clock.nowMs();
    switch (action) {
      case 'confirm': {
        if (license.status !== 'pending') return conflict(license, action);
        license.status = 'active';
        license.subscribedAtMs = nowMs;
        return { license, notifications: subscribed(license) };
      }
      case 'fail': {
        if (license.status !== 'pending' && license.status !== 'active') {
          return conflict(license, action);
        }
        const wasActive = license.status === 'active';
        license.status = 'failed';
        license.endedAtMs = nowMs;
        if (isSns(license)) {
          return {
            license,
            notifications: [subscriptionNotification(license, 'subscribe-fail', { region })],
          };
        }
        // No agreement came of a failed purchase; an active one ends.
        return { license, notifications: wasActive ? ended(license) : [] };
      }
      case 'unsubscribe': {
        if (license.status !== 'active') return conflict(license, action);
        license.status = 'unsubscribe-pending';
        license.unsubscribeRequestedAtMs = nowMs;
        const product = productOf(license.productCode);
        return {
          license,
          notifications: isSns(license)
            ? [subscriptionNotification(license, 'unsubscribe-pending', { region })]
            : [agreementEvent('Purchase Agreement Ended', license, product, eventContext())],
        };
      }
      case 'unsubscribe-complete': {
        if (license.status !== 'unsubscribe-pending') return conflict(license, action);
        license.status = 'unsubscribed';
        license.endedAtMs = nowMs;
        const product = productOf(license.productCode);
        return {
          license,
          notifications: isSns(license)
            ? [subscriptionNotification(license, 'unsubscribe-success', { region })]
            : [licenseEvent('License Deprovisioned', license, product, eventContext())],
        };
      }
      case 'update-contract': {
        // AWS changes a contract's entitlements until the subscription ends, so an
        // entitlement-updated can also come in the hour after unsubscribe-pending.
        if (license.status !== 'active' && license.status !== 'unsubscribe-pending') {
          return conflict(license, action);
        }
        const product = productOf(license.productCode);
        checkContract(product, input.contract);
        const next: Record<string, ContractValue> = { ...license.contract };
        for (const [dimension, value] of Object.entries(input.contract ?? {})) {
          if (value === null) delete next[dimension];
          else next[dimension] = value;
        }
        license.contract = next;
        license.contractExpiresAtMs = expiry(input.expiresAt, license.contractExpiresAtMs);
        return {
          license,
          notifications: isSns(license)
            ? [entitlementNotification(license, { region })]
            : [
                agreementEvent('Purchase Agreement Amended', license, product, eventContext()),
                licenseEvent('License Updated', license, product, eventContext()),
              ],
        };
      }
    }
  };

  const newestFirst = (list: License[]): License[] =>
    list.sort((a, b) => b.createdAtMs - a.createdAtMs);

  return {
    sellerAccountId,
    region,
    products: () => [...productsByCode.values()],
    product: (code) => productsByCode.get(code),
    subscribe,
    act,
    license: find,
    licenses: () => [...licenses.values()],
    licensesOfCustomer: (productCode, customerIdentifier) =>
      newestFirst(
        [...licenses.values()].filter(
          (license) =>
            license.productCode === productCode &&
            license.customerIdentifier === customerIdentifier,
        ),
      ),
    licensesOfAccount: (productCode, accountId) =>
      newestFirst(
        [...licenses.values()].filter(
          (license) =>
            license.productCode === productCode && license.customerAWSAccountId === accountId,
        ),
      ),
    mintToken,
    resolveToken: (token) => tokens.get(token),
    reset: () => {
      licenses = new Map();
      customerIds = new Map();
      tokens = new Map();
    },
  };
};
