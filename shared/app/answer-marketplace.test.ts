import { MarketplaceApiError } from '../domain/errors';
import type { ObservedEntitlement } from '../domain/decision';
import { createJsonLogger } from '../adapters/logging/json-logger';
import type { MarketplaceApprovals } from '../ports/marketplace';
import { answerMarketplace } from './answer-marketplace';

/** A marketplace that records the answers it gets and refuses them as told. */
const aMarketplace = (refusal?: MarketplaceApiError) => {
  const calls: string[] = [];
  const answer =
    (name: string) =>
    async (...args: unknown[]) => {
      calls.push([name, ...args].join(' '));
      if (refusal) throw refusal;
    };
  const approvals: MarketplaceApprovals = {
    approveSignup: answer('approveSignup'),
    listAwaitingApproval: async () => [],
    approveEntitlement: answer('approveEntitlement'),
    rejectEntitlement: answer('rejectEntitlement'),
    approvePlanChange: answer('approvePlanChange'),
    rejectPlanChange: answer('rejectPlanChange'),
    askBuyerToSignUp: answer('askBuyerToSignUp'),
  };
  return { approvals, calls };
};

const waiting: ObservedEntitlement = {
  accountId: 'a',
  productId: 'p',
  status: 'pending_approval',
  awaiting: 'approval',
  plan: 'pro',
  snapshot: { updateTimeEpochMs: 1, data: {} },
};
const logger = createJsonLogger({ write: () => undefined });
const deps = (approvals: MarketplaceApprovals) => ({
  approvals,
  policy: { mode: 'auto' as const },
  signupMessage: 'sign up',
  logger,
});

describe('answering the marketplace', () => {
  it('sends the answer the policy calls for', async () => {
    const { approvals, calls } = aMarketplace();
    expect(await answerMarketplace(deps(approvals), 'e-1', waiting, true)).toBe('answered');
    expect(calls).toEqual(['approveEntitlement e-1']);
  });

  it('answers nothing when nothing waits', async () => {
    const { approvals, calls } = aMarketplace();
    expect(
      await answerMarketplace(deps(approvals), 'e-1', { ...waiting, awaiting: null }, true),
    ).toBe('nothing');
    expect(calls).toEqual([]);
  });

  it.each(['FAILED_PRECONDITION', 'NOT_FOUND'])(
    'reads again when the marketplace answers %s',
    async (code) => {
      const refusal = new MarketplaceApiError('refused', {
        retryable: false,
        status: code === 'NOT_FOUND' ? 404 : 400,
        code,
      });
      const { approvals } = aMarketplace(refusal);
      expect(await answerMarketplace(deps(approvals), 'e-1', waiting, true)).toBe('moved');
    },
  );

  it('lets a failure it cannot reconcile through, retryable as the marketplace said', async () => {
    const outage = new MarketplaceApiError('unavailable', { retryable: true, status: 503 });
    const { approvals } = aMarketplace(outage);
    await expect(answerMarketplace(deps(approvals), 'e-1', waiting, true)).rejects.toBe(outage);
  });
});
