import type { ObservedEntitlement } from './decision';

/**
 * How the vendor approves what the marketplace asks it to: every purchase once the buyer has
 * signed up (`auto`), only some plans (`plans`: the others are rejected with a reason), or
 * none, leaving each for a person (`manual`, who hears of it through the outbox).
 */
export type ApprovalPolicy =
  | { readonly mode: 'auto' }
  | { readonly mode: 'plans'; readonly plans: readonly string[] }
  | { readonly mode: 'manual' };

/** What to ask of the marketplace about one entitlement. */
export type ApprovalAction =
  | { readonly type: 'approve_entitlement' }
  | { readonly type: 'reject_entitlement'; readonly reason: string }
  | { readonly type: 'approve_plan_change'; readonly plan: string }
  | { readonly type: 'reject_plan_change'; readonly plan: string; readonly reason: string }
  | { readonly type: 'ask_buyer_to_sign_up'; readonly message: string };

const notOffered = (plan: string | null | undefined): string =>
  `The plan "${plan ?? 'unknown'}" is not available for self-service purchase; please contact us.`;

/**
 * Decides what the vendor answers a marketplace that waits for it. Pure.
 *
 * A purchase is approved only once the buyer's signup was verified: before that the buyer is
 * told to finish signing up (the marketplace would refuse the approval anyway).
 */
export const approvalActions = (
  entitlement: Pick<ObservedEntitlement, 'awaiting' | 'plan' | 'pendingPlan'>,
  context: { readonly accountSignedUp: boolean; readonly signupMessage: string },
  policy: ApprovalPolicy,
): ApprovalAction[] => {
  if (entitlement.awaiting === 'approval') {
    if (policy.mode === 'manual') return [];
    if (policy.mode === 'plans' && !policy.plans.includes(entitlement.plan ?? '')) {
      return [{ type: 'reject_entitlement', reason: notOffered(entitlement.plan) }];
    }
    return context.accountSignedUp
      ? [{ type: 'approve_entitlement' }]
      : [{ type: 'ask_buyer_to_sign_up', message: context.signupMessage }];
  }
  if (entitlement.awaiting === 'plan_change_approval' && entitlement.pendingPlan) {
    const plan = entitlement.pendingPlan;
    if (policy.mode === 'manual') return [];
    if (policy.mode === 'plans' && !policy.plans.includes(plan)) {
      return [{ type: 'reject_plan_change', plan, reason: notOffered(plan) }];
    }
    return [{ type: 'approve_plan_change', plan }];
  }
  return [];
};
