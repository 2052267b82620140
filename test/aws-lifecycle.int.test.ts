import { verifyHandoffToken } from '../shared/adapters/handoff/handoff-token';
import {
  HANDOFF_SECRET,
  ONBOARDING_URL,
  PRODUCT_CODE,
  postRegistration,
  startAwsStack,
} from './support/aws-stack';
import { entitlementIdOf } from './support/aws-messages';
import type { AwsStack } from './support/aws-stack';

const handoffOf = async (response: Response) => {
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(
    new URL(ONBOARDING_URL).origin + new URL(ONBOARDING_URL).pathname,
  );
  return verifyHandoffToken(location.searchParams.get('handoff')!, {
    secret: HANDOFF_SECRET,
    nowEpochMs: Date.now(),
  });
};

describe('AWS lifecycle over the simulator, the functions and DynamoDB Local', () => {
  let stack: AwsStack;
  beforeAll(async () => {
    stack = await startAwsStack();
  });
  afterAll(() => stack.stop());

  describe.each(['eventbridge', 'sns'] as const)('%s notifications', (style) => {
    it('signs up after the subscription was confirmed', async () => {
      const bought = await stack.sim.aws.subscribe({ productCode: PRODUCT_CODE, style });
      const id = entitlementIdOf(bought, style);
      const before = await stack.store.getEntitlement({ cloud: 'aws', id });
      expect(before).toMatchObject({ status: 'active', tenantId: null, productId: PRODUCT_CODE });

      const handoff = await handoffOf(await postRegistration(stack, bought.registrationToken));
      const after = await stack.store.getEntitlement({ cloud: 'aws', id });
      expect(after).toMatchObject({ status: 'active', tenantId: handoff.tenantId });
      const account = await stack.store.getAccount({ cloud: 'aws', id: after!.accountId });
      expect(account).toMatchObject({ status: 'active', tenant: { tenantId: handoff.tenantId } });
    });

    it('signs up before the subscription is confirmed, and the confirmation finds it', async () => {
      const bought = await stack.sim.aws.subscribe({
        productCode: PRODUCT_CODE,
        style,
        pending: true,
      });
      const id = entitlementIdOf(bought, style);
      const handoff = await handoffOf(await postRegistration(stack, bought.registrationToken));
      expect(await stack.store.getEntitlement({ cloud: 'aws', id })).toMatchObject({
        status: 'pending_approval',
        tenantId: handoff.tenantId,
      });
      await stack.sim.aws.act(bought.licenseArn, 'confirm');
      expect(await stack.store.getEntitlement({ cloud: 'aws', id })).toMatchObject({
        status: 'active',
        tenantId: handoff.tenantId,
      });
    });
  });
});
