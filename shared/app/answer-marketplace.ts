import { approvalActions } from '../domain/approval-policy';
import type { ApprovalAction, ApprovalPolicy } from '../domain/approval-policy';
import type { ObservedEntitlement } from '../domain/decision';
import { MarketplaceApiError } from '../domain/errors';
import type { Logger } from '../ports/logger';
import type { MarketplaceApprovals } from '../ports/marketplace';

export interface AnswerMarketplaceDeps {
  readonly approvals: MarketplaceApprovals;
  readonly policy: ApprovalPolicy;
  /** Shown on a purchase that waits for the buyer to finish signing up. */
  readonly signupMessage: string;
  readonly logger: Logger;
}

/**
 * `answered`: the marketplace took every answer. `moved`: it refused one because the purchase
 * is no longer where it was (400 FAILED_PRECONDITION, 404), so what was observed is stale and
 * must be read again. `nothing`: there was nothing to answer.
 */
export type AnswerOutcome = 'answered' | 'moved' | 'nothing';

const send = (
  approvals: MarketplaceApprovals,
  entitlementId: string,
  action: ApprovalAction,
): Promise<void> => {
  switch (action.type) {
    case 'approve_entitlement':
      return approvals.approveEntitlement(entitlementId);
    case 'reject_entitlement':
      return approvals.rejectEntitlement(entitlementId, action.reason);
    case 'approve_plan_change':
      return approvals.approvePlanChange(entitlementId, action.plan);
    case 'reject_plan_change':
      return approvals.rejectPlanChange(entitlementId, action.plan, action.reason);
    case 'ask_buyer_to_sign_up':
      return approvals.askBuyerToSignUp(entitlementId, action.message);
  }
};

/** The marketplace answered that the purchase moved on: re-read it rather than fail. */
const movedOn = (error: unknown): boolean =>
  error instanceof MarketplaceApiError &&
  (error.code === 'FAILED_PRECONDITION' || error.code === 'NOT_FOUND');

/**
 * Gives the marketplace the answers the approval policy calls for on one purchase that waits
 * for the vendor (approve, reject, approve or reject a plan change, ask the buyer to sign up).
 *
 * @throws MarketplaceApiError when the marketplace failed otherwise (retryable when it may
 * recover: throttling, 5xx).
 */
export const answerMarketplace = async (
  deps: AnswerMarketplaceDeps,
  entitlementId: string,
  observed: ObservedEntitlement,
  accountSignedUp: boolean,
): Promise<AnswerOutcome> => {
  const actions = approvalActions(
    observed,
    { accountSignedUp, signupMessage: deps.signupMessage },
    deps.policy,
  );
  for (const action of actions) {
    try {
      await send(deps.approvals, entitlementId, action);
      deps.logger.info('answered the marketplace', { entitlementId, action: action.type });
    } catch (error) {
      if (!movedOn(error)) throw error;
      deps.logger.info('the purchase moved on before the answer; reading it again', {
        entitlementId,
        action: action.type,
      });
      return 'moved';
    }
  }
  return actions.length > 0 ? 'answered' : 'nothing';
};
