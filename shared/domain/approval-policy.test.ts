import { approvalActions } from './approval-policy';
import type { ApprovalPolicy } from './approval-policy';

const signupMessage = 'Finish signing up';
const purchase = { awaiting: 'approval' as const, plan: 'pro', pendingPlan: null };
const planChange = {
  awaiting: 'plan_change_approval' as const,
  plan: 'pro',
  pendingPlan: 'enterprise',
};
const AUTO: ApprovalPolicy = { mode: 'auto' };
const PLANS: ApprovalPolicy = { mode: 'plans', plans: ['pro'] };
const MANUAL: ApprovalPolicy = { mode: 'manual' };

describe('approval policy', () => {
  it.each([
    ['auto, signed up', AUTO, true, [{ type: 'approve_entitlement' }]],
    [
      'auto, not signed up',
      AUTO,
      false,
      [{ type: 'ask_buyer_to_sign_up', message: signupMessage }],
    ],
    ['plans, allowed plan, signed up', PLANS, true, [{ type: 'approve_entitlement' }]],
    ['manual', MANUAL, true, []],
  ] as const)('answers a purchase under %s', (_, policy, accountSignedUp, expected) => {
    expect(approvalActions(purchase, { accountSignedUp, signupMessage }, policy)).toEqual(expected);
  });

  it('rejects a plan outside the allow-list with a reason, signed up or not', () => {
    for (const accountSignedUp of [true, false]) {
      const [action] = approvalActions(
        { ...purchase, plan: 'enterprise' },
        { accountSignedUp, signupMessage },
        PLANS,
      );
      expect(action).toMatchObject({ type: 'reject_entitlement' });
      expect((action as { reason: string }).reason).toContain('enterprise');
    }
  });

  it.each([
    ['auto', AUTO, [{ type: 'approve_plan_change', plan: 'enterprise' }]],
    [
      'plans, outside the list',
      PLANS,
      [
        {
          type: 'reject_plan_change',
          plan: 'enterprise',
          reason: expect.stringContaining('enterprise'),
        },
      ],
    ],
    [
      'plans, inside the list',
      { mode: 'plans', plans: ['enterprise'] } as ApprovalPolicy,
      [{ type: 'approve_plan_change', plan: 'enterprise' }],
    ],
    ['manual', MANUAL, []],
  ] as const)('answers a plan change under %s with the pending plan', (_, policy, expected) => {
    expect(approvalActions(planChange, { accountSignedUp: true, signupMessage }, policy)).toEqual(
      expected,
    );
  });

  it('answers nothing when nothing waits, or a plan change names no plan', () => {
    expect(
      approvalActions(
        { awaiting: null, plan: 'pro', pendingPlan: null },
        { accountSignedUp: true, signupMessage },
        AUTO,
      ),
    ).toEqual([]);
    expect(
      approvalActions(
        { ...planChange, pendingPlan: null },
        { accountSignedUp: true, signupMessage },
        AUTO,
      ),
    ).toEqual([]);
  });
});
