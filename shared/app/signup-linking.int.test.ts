import { randomUUID } from 'node:crypto';
import { createAwsBuyerResolver } from '../adapters/aws';
import { createGcpMarketplaceFromConfig } from '../adapters/gcp';
import { createJsonLogger } from '../adapters/logging/json-logger';
import type { AccountRef } from '../domain/model';
import type { Store } from '../ports/store';
import type { StoreUnderTest } from '../test/store-contract';
import { anAccount, anEntitlement } from '../test/builders';
import { createSimulator } from '../../sim/server';
import type { Simulator } from '../../sim/server';
import { meteringClient } from '../../sim/aws/testing/sdk-clients';
import { STORES_UNDER_TEST } from '../../test/support/stores';
import { completeSignup } from './complete-signup';
import { unlinkTenantAccount } from './link-tenant-account';
import { registerAwsBuyer } from './register-aws-buyer';

const PRODUCT_CODE = 'demo0product0code0local01';
const clock = { now: Date.now };
const logger = createJsonLogger({ level: 'error', write: () => undefined });

/**
 * The store, with an admin's unlink of `account` committing right after the signup's own write,
 * as the signup starts listing the account's purchases to give them its tenant.
 */
const unlinkingWhileListed = (store: Store, account: AccountRef) => {
  let unlinked = false;
  const racing: Store = {
    ...store,
    listEntitlements: async (query, page) => {
      const linked = (await store.getAccount(account))?.tenant;
      if (!unlinked && query.by === 'account' && linked) {
        unlinked = true;
        await unlinkTenantAccount(
          { store, clock, eventTtlSeconds: 3_600, newId: randomUUID },
          { tenantId: linked.tenantId, account, actor: 'ops' },
        );
      }
      return store.listEntitlements(query, page);
    },
  };
  return { store: racing, unlinked: () => unlinked };
};

describe.each(STORES_UNDER_TEST)('a signup racing an admin unlink, on %s', (_name, setup) => {
  let sim: Simulator;
  let subject: StoreUnderTest;
  let store: Store;
  beforeAll(async () => {
    sim = await createSimulator();
    subject = await setup();
    store = subject.store;
  });
  afterAll(async () => {
    await subject?.teardown();
    await sim?.stop();
  });

  it('Google: the purchases follow the account, which the unlink left without a tenant', async () => {
    const bought = await sim.gcp.purchase({ plan: 'pro' });
    const account = { cloud: 'gcp', id: bought.accountId } as const;
    // What the events function stored before the buyer signed up.
    await store.putAccount(anAccount({ ...account, status: 'pending_signup' }), 0);
    const purchase = anEntitlement({
      id: bought.entitlementId,
      accountId: bought.accountId,
      status: 'pending_approval',
    });
    await store.putEntitlement(purchase, 0);
    const racing = unlinkingWhileListed(store, account);
    const marketplace = createGcpMarketplaceFromConfig({
      providerId: sim.gcp.providerId,
      procurementApiUrl: sim.url,
    });

    await completeSignup(
      {
        store: racing.store,
        approvals: marketplace,
        answering: {
          approvals: marketplace,
          policy: { mode: 'auto' },
          signupMessage: 'Finish signing up',
          logger,
        },
        clock,
        logger,
        eventTtlSeconds: 3_600,
        newTenantId: randomUUID,
      },
      {
        cloud: 'gcp',
        accountId: bought.accountId,
        signupId: `signup:${bought.accountId}:1`,
        userIdentity: 'google-user-1',
        audit: {},
      },
    );

    expect(racing.unlinked()).toBe(true);
    expect((await store.getAccount(account))?.tenant).toBeNull();
    expect((await store.getEntitlement(purchase))?.tenantId).toBeNull();
  });

  it('AWS: the registered purchase and a concurrent agreement follow the unlinked account', async () => {
    const first = await sim.aws.subscribe({ productCode: PRODUCT_CODE });
    const account = { cloud: 'aws', id: first.customerAWSAccountId } as const;
    // A concurrent agreement of the same buyer, recorded by its notification, not registered.
    const other = anEntitlement({
      cloud: 'aws',
      id: `arn:aws:license-manager::123456789012:license:l-${randomUUID()}`,
      accountId: first.customerAWSAccountId,
      productId: PRODUCT_CODE,
      status: 'active',
    });
    await store.putEntitlement(other, 0);
    const racing = unlinkingWhileListed(store, account);

    const registered = await registerAwsBuyer(
      {
        store: racing.store,
        resolver: createAwsBuyerResolver({ client: meteringClient(sim.url) }),
        clock,
        logger,
        eventTtlSeconds: 3_600,
        productCode: PRODUCT_CODE,
        newTenantId: randomUUID,
      },
      { registrationToken: first.registrationToken, freeTrial: false, signupId: randomUUID() },
    );

    expect(racing.unlinked()).toBe(true);
    expect((await store.getAccount(account))?.tenant).toBeNull();
    for (const id of [registered.entitlementId, other.id]) {
      expect((await store.getEntitlement({ cloud: 'aws', id }))?.tenantId).toBeNull();
    }
  });
});
