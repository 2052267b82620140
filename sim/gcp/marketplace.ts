import type { SimClock } from '../clock';
import { rfc3339 } from '../clock';
import { simError } from '../http/http-error';
import type { RecordedMessage } from '../messages';
import type { Random } from '../random';
import type { AccountEventType, EntitlementEventType, EntitlementMessage } from './events';
import { failedPrecondition, invalidArgument, notFound } from './google-errors';
import { addIsoDuration } from './iso-duration';
import type { AccountRecord, EntitlementRecord, EntitlementState, OfferTerms } from './model';
import { BILLABLE_STATES } from './model';
import type { PubSubPush } from './pubsub-push';
import { accountName, entitlementName } from './resource-views';
import type { SignupTokenOptions } from './signup-tokens';
import { mintSignupToken } from './signup-tokens';
import type { KeyRing } from './signing-keys';

/**
 * The simulated Google Cloud Marketplace: accounts and entitlements in memory, changed by the
 * provider (the Procurement API) and by the buyer (`/_sim/gcp/*`), each change publishing
 * what the real marketplace publishes. Provider calls fail with Google's errors; buyer actions
 * with plain 404 (unknown resource) and 409 (not possible in the current state).
 *
 * Simplifications, all documented in `sim/README.md`:
 * - an approved entitlement is active at once unless its private offer starts later; it then
 *   waits in ACTIVATION_REQUESTED (with `newOfferStartTime`) until the buyer action `start-offer`;
 * - an approved plan change takes effect at once (the billing cycle is treated as ending now),
 *   so ENTITLEMENT_PENDING_PLAN_CHANGE is never entered;
 * - a term ends only when a test says so (`expire`, `end-offer`); nothing runs on a timer.
 */

export interface OfferInput {
  readonly id?: string;
  readonly type?: 'private' | 'standard';
  readonly duration?: string;
  readonly endTime?: string;
  readonly startTime?: string;
  readonly autoApproval?: boolean;
}

export interface PurchaseInput {
  readonly plan: string;
  readonly accountId?: string;
  readonly usage?: boolean;
  readonly offer?: OfferInput;
  readonly productExternalName?: string;
  readonly quoteExternalName?: string;
  /** `projects/{number}` names of the consumer projects. */
  readonly consumers?: readonly string[];
  /** Approvals a new account starts with, all PENDING; `["signup"]` by default. */
  readonly approvals?: readonly string[];
}

export interface PurchaseResult {
  readonly provider: string;
  readonly accountId: string;
  readonly entitlementId: string;
  readonly orderId: string;
  readonly usageReportingId?: string;
  readonly signupToken: string;
  readonly published: readonly RecordedMessage[];
}

export type BuyerEntitlementAction =
  | 'change-plan'
  | 'cancel-plan-change'
  | 'cancel'
  | 'revert-cancellation'
  | 'renew'
  | 'end-offer'
  | 'start-offer'
  | 'expire'
  | 'delete';

export interface BuyerActionInput {
  readonly plan?: string;
  readonly offer?: OfferInput;
  readonly immediate?: boolean;
  /** `end-offer`: cancel the entitlement (default) or keep it active at list price. */
  readonly cancel?: boolean;
}

export interface ActionResult {
  readonly entitlement?: EntitlementRecord;
  readonly published: readonly RecordedMessage[];
}

/** How Service Control sees a consumer id. */
export type ConsumerStatus =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'not-activated'; readonly entitlement: EntitlementRecord }
  | { readonly kind: 'active'; readonly entitlement: EntitlementRecord };

export interface GcpMarketplaceOptions {
  readonly providerId: string;
  readonly productDomains: readonly string[];
  readonly accountNotifications: boolean;
  readonly clock: SimClock;
  readonly random: Random;
  readonly pubsub: PubSubPush;
  readonly signupKeys: KeyRing;
}

export interface GcpMarketplace {
  readonly providerId: string;
  /** The vendor's project number, in offer names. */
  readonly vendorProjectNumber: string;
  account(id: string): AccountRecord | undefined;
  entitlement(id: string): EntitlementRecord | undefined;
  accounts(): readonly AccountRecord[];
  entitlements(): readonly EntitlementRecord[];
  /** @throws Google's 404 NOT_FOUND. */
  requireAccount(id: string): AccountRecord;
  /** @throws Google's 404 NOT_FOUND. */
  requireEntitlement(id: string): EntitlementRecord;

  approveAccount(id: string, approvalName: string | undefined, reason?: string): ActionResult;
  rejectAccount(id: string, approvalName: string | undefined, reason?: string): ActionResult;
  resetAccount(id: string): ActionResult;
  approveEntitlement(id: string): ActionResult;
  rejectEntitlement(id: string, reason?: string): ActionResult;
  approvePlanChange(id: string, pendingPlanName: string | undefined): ActionResult;
  rejectPlanChange(id: string, pendingPlanName: string | undefined): ActionResult;
  setMessageToUser(id: string, message: string | undefined): ActionResult;

  purchase(input: PurchaseInput): PurchaseResult;
  buyerAction(id: string, action: BuyerEntitlementAction, input?: BuyerActionInput): ActionResult;
  deleteAccount(id: string): ActionResult;
  /** What a fresh signup token for the account says (key, claims), for minting variants. */
  signupTokenOptions(accountId: string, audience?: string): SignupTokenOptions;
  signupToken(accountId: string, audience?: string): string;

  consumerStatus(consumerId: string, serviceName: string, windowStartMs?: number): ConsumerStatus;
  reset(): void;
}

const REASON_MAX_BYTES = 256;
const truncate = (text: string | undefined): string | undefined =>
  text === undefined
    ? undefined
    : Buffer.from(text)
        .subarray(0, REASON_MAX_BYTES)
        .toString('utf8')
        .replace(/\uFFFD$/, '');

const endOfMonthMs = (epochMs: number): number => {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
};

export const createGcpMarketplace = (options: GcpMarketplaceOptions): GcpMarketplace => {
  const { providerId, clock, random, pubsub } = options;
  const vendorProjectNumber = random.digits(12);
  const accounts = new Map<string, AccountRecord>();
  const entitlements = new Map<string, EntitlementRecord>();
  const byUsageId = new Map<string, string>();
  const standardOffers = new Map<string, string>();
  let seq = 0;

  // --- helpers ------------------------------------------------------------------------------

  const publishAccount = (
    out: RecordedMessage[],
    account: AccountRecord,
    eventType: AccountEventType,
    updateTime = account.updateTime,
  ): void => {
    if (!options.accountNotifications) return;
    out.push(
      pubsub.publish({
        eventId: random.uuid(),
        eventType,
        providerId,
        account: { id: account.id, updateTime },
      }),
    );
  };

  const publishEntitlement = (
    out: RecordedMessage[],
    e: EntitlementRecord,
    eventType: EntitlementEventType,
    extra: Omit<EntitlementMessage['entitlement'], 'id' | 'updateTime'> = {},
  ): void => {
    out.push(
      pubsub.publish({
        eventId: random.uuid(),
        eventType,
        providerId,
        entitlement: { id: e.id, updateTime: e.updateTime, ...extra },
      }),
    );
  };

  const touch = (e: EntitlementRecord): void => {
    e.updateTime = clock.tick().toISOString();
  };

  // The reference: messageToUser "is cleared automatically when the entitlement state changes".
  const transition = (e: EntitlementRecord, state: EntitlementState): void => {
    e.state = state;
    e.messageToUser = undefined;
    touch(e);
  };

  const standardOfferName = (product: string, plan: string): string => {
    const key = `${product}\n${plan}`;
    let id = standardOffers.get(key);
    if (!id) {
      id = random.uuid();
      standardOffers.set(key, id);
    }
    return `projects/${vendorProjectNumber}/services/${product}/standardOffers/${id}`;
  };

  const offerTerms = (product: string, plan: string, input: OfferInput = {}): OfferTerms => {
    const isPrivate =
      input.type === 'private' ||
      (input.type === undefined &&
        (input.duration ?? input.endTime ?? input.startTime ?? input.autoApproval) !== undefined);
    if (!isPrivate) {
      return {
        name: input.id
          ? `projects/${vendorProjectNumber}/services/${product}/standardOffers/${input.id}`
          : standardOfferName(product, plan),
        kind: 'standard',
        autoApproval: false,
      };
    }
    return {
      name: `projects/${vendorProjectNumber}/services/${product}/privateOffers/${input.id ?? random.uuid()}`,
      kind: 'private',
      ...(input.duration ? { duration: input.duration } : {}),
      ...(input.endTime ? { endTime: input.endTime } : {}),
      ...(input.startTime ? { startTime: input.startTime } : {}),
      autoApproval: input.autoApproval ?? false,
    };
  };

  const termEnd = (offer: OfferTerms, startMs: number): number | undefined =>
    offer.endTime
      ? Date.parse(offer.endTime)
      : offer.duration
        ? addIsoDuration(startMs, offer.duration)
        : undefined;

  const activate = (out: RecordedMessage[], e: EntitlementRecord): void => {
    const nowMs = clock.nowMs();
    e.waitingForStart = false;
    e.everActive = true;
    e.billableUntilMs = undefined;
    e.termStartMs = nowMs;
    e.termEndMs = e.termEndMs ?? termEnd(e.offer, nowMs);
    transition(e, 'ENTITLEMENT_ACTIVE');
    publishEntitlement(out, e, 'ENTITLEMENT_ACTIVE');
  };

  /** `out: null` cancels silently, as `accounts.reset` does. */
  const cancelNow = (out: RecordedMessage[] | null, e: EntitlementRecord, reason: string): void => {
    const nowMs = clock.nowMs();
    // A cancelled entitlement shows when its last offer ended, if one ever started.
    e.termEndMs = e.everActive ? Math.min(e.termEndMs ?? nowMs, nowMs) : undefined;
    e.subscriptionEndMs = e.everActive ? nowMs : undefined;
    e.billableUntilMs = e.everActive ? nowMs : undefined;
    e.waitingForStart = false;
    e.newPendingPlan = undefined;
    e.pendingOffer = undefined;
    e.cancellationReason = reason;
    transition(e, 'ENTITLEMENT_CANCELLED');
    if (out) publishEntitlement(out, e, 'ENTITLEMENT_CANCELLED');
  };

  const providerEntitlement = (id: string): EntitlementRecord => {
    const e = entitlements.get(id);
    if (!e) throw notFound(`Entitlement ${entitlementName(providerId, id)} not found.`);
    return e;
  };

  const providerAccount = (id: string): AccountRecord => {
    const account = accounts.get(id);
    if (!account) throw notFound(`Account ${accountName(providerId, id)} not found.`);
    return account;
  };

  const buyerEntitlement = (id: string): EntitlementRecord => {
    const e = entitlements.get(id);
    if (!e) throw simError(404, `entitlement ${id} not found`);
    return e;
  };

  const conflict = (e: EntitlementRecord, action: string, hint = ''): never => {
    throw simError(409, `cannot ${action}: entitlement ${e.id} is ${e.state}${hint}`);
  };

  const approval = (account: AccountRecord, approvalName: string | undefined) => {
    if (approvalName === undefined || approvalName === '') {
      if (account.approvals.length !== 1) {
        throw invalidArgument(
          `approval_name is required: account ${account.id} has ${account.approvals.length} approvals.`,
        );
      }
      return account.approvals[0]!;
    }
    const found = account.approvals.find((a) => a.name === approvalName);
    if (!found) {
      throw invalidArgument(`Account ${account.id} has no approval named "${approvalName}".`);
    }
    return found;
  };

  const decide = (
    id: string,
    approvalName: string | undefined,
    state: 'APPROVED' | 'REJECTED',
    reason: string | undefined,
  ): ActionResult => {
    const account = providerAccount(id);
    const target = approval(account, approvalName);
    const truncated = truncate(reason);
    if (target.state === state && target.reason === truncated) return { published: [] };
    const updateTime = clock.tick().toISOString();
    target.state = state;
    target.reason = truncated;
    target.updateTime = updateTime;
    account.updateTime = updateTime;
    return { published: [] };
  };

  const requirePendingPlan = (e: EntitlementRecord, pendingPlanName: string | undefined): void => {
    if (!pendingPlanName) throw invalidArgument('pending_plan_name is required.');
    if (e.state !== 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL') throw failedPrecondition();
    if (e.newPendingPlan !== pendingPlanName) throw failedPrecondition();
  };

  const liveOrders = (accountId: string): string[] =>
    [...entitlements.values()].filter((e) => e.accountId === accountId).map((e) => e.orderId);

  const signupTokenOptions = (accountId: string, audience?: string): SignupTokenOptions => {
    const account = accounts.get(accountId);
    if (!account) throw simError(404, `account ${accountId} not found`);
    const latest = [...entitlements.values()].filter((e) => e.accountId === accountId).pop();
    return {
      key: options.signupKeys.current(),
      accountId,
      audience: audience ?? latest?.productExternalName ?? options.productDomains[0] ?? '',
      userIdentity: account.userIdentity,
      orders: liveOrders(accountId),
      nowSeconds: Math.floor(clock.nowMs() / 1000),
    };
  };

  const signupToken = (accountId: string, audience?: string): string =>
    mintSignupToken(signupTokenOptions(accountId, audience));

  // --- buyer actions on an entitlement ------------------------------------------------------

  const buyerActions: Record<
    BuyerEntitlementAction,
    (out: RecordedMessage[], e: EntitlementRecord, input: BuyerActionInput) => void
  > = {
    'change-plan': (out, e, input) => {
      if (!input.plan) throw simError(400, 'change-plan needs a "plan"');
      if (e.state === 'ENTITLEMENT_ACTIVATION_REQUESTED') {
        conflict(e, 'change the plan', ' (the buyer cancels and orders again instead)');
      }
      if (e.state !== 'ENTITLEMENT_ACTIVE') conflict(e, 'change the plan');
      if (input.plan === e.plan && !input.offer) {
        throw simError(400, `entitlement ${e.id} is already on plan "${e.plan}"`);
      }
      e.newPendingPlan = input.plan;
      e.pendingOffer = input.offer
        ? offerTerms(e.productExternalName, input.plan, input.offer)
        : undefined;
      transition(e, 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL');
      publishEntitlement(out, e, 'ENTITLEMENT_PLAN_CHANGE_REQUESTED', { newPlan: input.plan });
    },
    'cancel-plan-change': (out, e) => {
      if (e.state !== 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL')
        conflict(e, 'revert a plan change');
      const newPlan = e.newPendingPlan;
      e.newPendingPlan = undefined;
      e.pendingOffer = undefined;
      transition(e, 'ENTITLEMENT_ACTIVE');
      publishEntitlement(out, e, 'ENTITLEMENT_PLAN_CHANGE_CANCELLED', { newPlan });
    },
    cancel: (out, e, input) => {
      switch (e.state) {
        case 'ENTITLEMENT_ACTIVATION_REQUESTED':
          // Nothing ran yet: the order is simply withdrawn.
          return cancelNow(out, e, 'user-aborted');
        case 'ENTITLEMENT_ACTIVE':
        case 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL':
          if (input.immediate) return cancelNow(out, e, 'user-cancelled');
          e.newPendingPlan = undefined;
          e.pendingOffer = undefined;
          e.subscriptionEndMs = e.termEndMs ?? endOfMonthMs(clock.nowMs());
          transition(e, 'ENTITLEMENT_PENDING_CANCELLATION');
          return publishEntitlement(out, e, 'ENTITLEMENT_PENDING_CANCELLATION');
        case 'ENTITLEMENT_PENDING_CANCELLATION':
          if (input.immediate) return cancelNow(out, e, 'user-cancelled');
          return conflict(e, 'cancel', ' (already pending; pass "immediate": true to end it now)');
        default:
          return conflict(e, 'cancel');
      }
    },
    'revert-cancellation': (out, e) => {
      if (e.state !== 'ENTITLEMENT_PENDING_CANCELLATION') conflict(e, 'revert a cancellation');
      e.subscriptionEndMs = undefined;
      transition(e, 'ENTITLEMENT_ACTIVE');
      publishEntitlement(out, e, 'ENTITLEMENT_CANCELLATION_REVERTED');
    },
    renew: (out, e) => {
      if (e.state !== 'ENTITLEMENT_ACTIVE') conflict(e, 'renew');
      if (e.termEndMs !== undefined && e.termStartMs !== undefined) {
        const lengthMs = e.termEndMs - e.termStartMs;
        e.termStartMs = e.termEndMs;
        e.termEndMs =
          (e.offer.duration ? addIsoDuration(e.termStartMs, e.offer.duration) : undefined) ??
          e.termStartMs + lengthMs;
      }
      touch(e);
      publishEntitlement(out, e, 'ENTITLEMENT_RENEWED');
    },
    'end-offer': (out, e, input) => {
      if (e.offer.kind !== 'private') {
        throw simError(409, `cannot end the offer: entitlement ${e.id} is on a standard offer`);
      }
      if (!BILLABLE_STATES.has(e.state)) conflict(e, 'end the offer');
      e.termEndMs = clock.nowMs();
      touch(e);
      publishEntitlement(out, e, 'ENTITLEMENT_OFFER_ENDED');
      // Google: the end "either triggers ENTITLEMENT_CANCELLED or remains active with
      // non-discounted pricing"; the offer then shows an end time in the past.
      if (input.cancel ?? true) cancelNow(out, e, 'expired');
    },
    'start-offer': (out, e) => {
      if (e.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED' || !e.waitingForStart) {
        conflict(e, 'start the offer', ' (only an approved offer waiting for its start can)');
      }
      activate(out, e);
    },
    expire: (out, e) => {
      if (e.state !== 'ENTITLEMENT_PENDING_CANCELLATION') conflict(e, 'expire');
      cancelNow(out, e, 'user-cancelled');
    },
    delete: (out, e) => {
      if (e.state !== 'ENTITLEMENT_CANCELLED') {
        conflict(e, 'delete', ' (only a cancelled entitlement can be deleted)');
      }
      entitlements.delete(e.id);
      touch(e);
      publishEntitlement(out, e, 'ENTITLEMENT_DELETED');
    },
  };

  return {
    providerId,
    vendorProjectNumber,
    account: (id) => accounts.get(id),
    entitlement: (id) => entitlements.get(id),
    accounts: () => [...accounts.values()],
    entitlements: () => [...entitlements.values()],
    requireAccount: providerAccount,
    requireEntitlement: providerEntitlement,

    approveAccount: (id, approvalName, reason) => decide(id, approvalName, 'APPROVED', reason),
    rejectAccount: (id, approvalName, reason) => decide(id, approvalName, 'REJECTED', reason),

    resetAccount: (id) => {
      const account = providerAccount(id);
      const updateTime = clock.tick().toISOString();
      for (const item of account.approvals) {
        item.state = 'PENDING';
        item.reason = undefined;
        item.updateTime = updateTime;
      }
      account.updateTime = updateTime;
      // Reset sends no message at all, for the account or its entitlements.
      for (const e of entitlements.values()) {
        if (e.accountId === id && e.state !== 'ENTITLEMENT_CANCELLED')
          cancelNow(null, e, 'unknown');
      }
      return { published: [] };
    },

    approveEntitlement: (id) => {
      const e = providerEntitlement(id);
      if (e.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED' || e.waitingForStart) {
        throw failedPrecondition();
      }
      const signup = accounts.get(e.accountId)?.approvals.find((a) => a.name === 'signup');
      if (signup && signup.state !== 'APPROVED') throw failedPrecondition();
      const out: RecordedMessage[] = [];
      const startMs = e.offer.startTime ? Date.parse(e.offer.startTime) : undefined;
      if (startMs !== undefined && startMs > clock.nowMs()) {
        e.waitingForStart = true;
        e.termStartMs = startMs;
        e.termEndMs = termEnd(e.offer, startMs);
        touch(e);
      } else {
        activate(out, e);
      }
      return { entitlement: e, published: out };
    },

    rejectEntitlement: (id, reason) => {
      const e = providerEntitlement(id);
      if (e.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED' || e.waitingForStart) {
        throw failedPrecondition();
      }
      const out: RecordedMessage[] = [];
      cancelNow(out, e, truncate(reason) || 'unknown');
      return { entitlement: e, published: out };
    },

    approvePlanChange: (id, pendingPlanName) => {
      const e = providerEntitlement(id);
      requirePendingPlan(e, pendingPlanName);
      const plan = e.newPendingPlan!;
      const nextOffer =
        e.pendingOffer ??
        (e.offer.kind === 'standard' ? offerTerms(e.productExternalName, plan) : e.offer);
      if (nextOffer.name !== e.offer.name) {
        e.offerHistory.push(nextOffer.name);
        e.termStartMs = clock.nowMs();
        e.termEndMs = termEnd(nextOffer, e.termStartMs);
      }
      e.offer = nextOffer;
      e.plan = plan;
      e.newPendingPlan = undefined;
      e.pendingOffer = undefined;
      transition(e, 'ENTITLEMENT_ACTIVE');
      const out: RecordedMessage[] = [];
      publishEntitlement(out, e, 'ENTITLEMENT_PLAN_CHANGED', { newPlan: plan });
      return { entitlement: e, published: out };
    },

    rejectPlanChange: (id, pendingPlanName) => {
      const e = providerEntitlement(id);
      requirePendingPlan(e, pendingPlanName);
      const newPlan = e.newPendingPlan;
      e.newPendingPlan = undefined;
      e.pendingOffer = undefined;
      transition(e, 'ENTITLEMENT_ACTIVE');
      const out: RecordedMessage[] = [];
      publishEntitlement(out, e, 'ENTITLEMENT_PLAN_CHANGE_CANCELLED', { newPlan });
      return { entitlement: e, published: out };
    },

    setMessageToUser: (id, message) => {
      const e = providerEntitlement(id);
      if (
        e.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED' &&
        e.state !== 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL'
      ) {
        throw failedPrecondition();
      }
      e.messageToUser = message || undefined;
      touch(e);
      return { entitlement: e, published: [] };
    },

    purchase: (input) => {
      const out: RecordedMessage[] = [];
      const product = input.productExternalName ?? options.productDomains[0] ?? 'unknown-product';
      let account = input.accountId ? accounts.get(input.accountId) : undefined;
      if (!account) {
        const now = clock.tick().toISOString();
        account = {
          id: input.accountId ?? random.uuid(),
          seq: (seq += 1),
          createTime: now,
          updateTime: now,
          approvals: (input.approvals ?? ['signup']).map((name) => ({
            name,
            state: 'PENDING',
            updateTime: now,
          })),
          userIdentity: random.digits(21),
          billingAccount: `billingAccounts/${[6, 6, 6].map((n) => random.hex(n).toUpperCase()).join('-')}`,
        };
        accounts.set(account.id, account);
        publishAccount(out, account, 'ACCOUNT_ACTIVE');
      }
      const offer = offerTerms(product, input.plan, input.offer);
      const now = clock.tick().toISOString();
      const usageReportingId = input.usage ? `project_number:${random.digits(12)}` : undefined;
      const e: EntitlementRecord = {
        id: random.uuid(),
        seq: (seq += 1),
        accountId: account.id,
        state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
        plan: input.plan,
        offer,
        offerHistory: [offer.name],
        ...(usageReportingId ? { usageReportingId } : {}),
        consumers: [...(input.consumers ?? [])],
        orderId: random.uuid(),
        productExternalName: product,
        ...(input.quoteExternalName ? { quoteExternalName: input.quoteExternalName } : {}),
        createTime: now,
        updateTime: now,
        waitingForStart: false,
        everActive: false,
      };
      entitlements.set(e.id, e);
      if (usageReportingId) byUsageId.set(usageReportingId, e.id);

      if (offer.autoApproval) {
        // Automatic offer approval: no CREATION_REQUESTED (Google's caution), only
        // OFFER_ACCEPTED with the scheduled start, then ACTIVE once it starts.
        const startMs = offer.startTime ? Date.parse(offer.startTime) : clock.nowMs();
        e.termStartMs = startMs;
        e.termEndMs = termEnd(offer, startMs);
        publishEntitlement(out, e, 'ENTITLEMENT_OFFER_ACCEPTED', {
          newOfferDuration: offer.duration ?? '',
          newOfferStartTime: rfc3339(startMs),
          newOfferEndTime: e.termEndMs === undefined ? '' : rfc3339(e.termEndMs),
        });
        if (startMs > clock.nowMs()) e.waitingForStart = true;
        else activate(out, e);
      } else {
        publishEntitlement(
          out,
          e,
          'ENTITLEMENT_CREATION_REQUESTED',
          offer.kind === 'private'
            ? { newOfferDuration: offer.duration ?? '', newOfferEndTime: offer.endTime ?? '' }
            : {},
        );
      }
      return {
        provider: providerId,
        accountId: account.id,
        entitlementId: e.id,
        orderId: e.orderId,
        ...(usageReportingId ? { usageReportingId } : {}),
        signupToken: signupToken(account.id, product),
        published: out,
      };
    },

    buyerAction: (id, action, input = {}) => {
      const e = buyerEntitlement(id);
      const out: RecordedMessage[] = [];
      buyerActions[action](out, e, input);
      return { entitlement: e, published: out };
    },

    deleteAccount: (id) => {
      const account = accounts.get(id);
      if (!account) throw simError(404, `account ${id} not found`);
      const out: RecordedMessage[] = [];
      for (const e of [...entitlements.values()]) {
        if (e.accountId !== id) continue;
        if (e.state !== 'ENTITLEMENT_CANCELLED') cancelNow(out, e, 'account-closed');
        entitlements.delete(e.id);
      }
      accounts.delete(id);
      publishAccount(out, account, 'ACCOUNT_DELETED', clock.tick().toISOString());
      return { published: out };
    },

    signupTokenOptions,
    signupToken,

    consumerStatus: (consumerId, serviceName, windowStartMs) => {
      const entitlementId = byUsageId.get(consumerId);
      const e = entitlementId ? entitlements.get(entitlementId) : undefined;
      if (!e) return { kind: 'unknown' };
      if (e.productExternalName !== serviceName) return { kind: 'not-activated', entitlement: e };
      if (BILLABLE_STATES.has(e.state)) return { kind: 'active', entitlement: e };
      // Usage for a window that began before billing stopped is still billable.
      if (
        windowStartMs !== undefined &&
        e.billableUntilMs !== undefined &&
        windowStartMs < e.billableUntilMs
      ) {
        return { kind: 'active', entitlement: e };
      }
      return { kind: 'not-activated', entitlement: e };
    },

    reset: () => {
      accounts.clear();
      entitlements.clear();
      byUsageId.clear();
    },
  };
};
