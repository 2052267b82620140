import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { UsageHourKey } from '../shared/domain/model';
import { lastClosedHourStartEpochMs } from '../shared/domain/time';
import type { Store } from '../shared/ports/store';
import { PRODUCT_CODE, postRegistration, startAwsStack } from './support/aws-stack';
import type { AwsStack } from './support/aws-stack';
import { addUsage, hourAgo, scheduledEvent, subscribe, usageKey } from './support/aws-usage';
import { SCHEDULER_SERVICE_ACCOUNT, signUpAndSettle, startGcpStack } from './support/gcp-stack';
import type { GcpStack } from './support/gcp-stack';
import {
  linkAccount,
  startAwsVendorApi,
  startGcpVendorApi,
  unlinkAccount,
} from './support/vendor-api';
import type { VendorApiUnderTest } from './support/vendor-api';
import { startWebhookReceiver } from './support/webhook-receiver';
import type { WebhookReceiver } from './support/webhook-receiver';

/**
 * What the vendor's app really receives, held to what it is promised: real flows on both
 * clouds, from the simulator through the deployed functions, with webhooks delivered to a local
 * receiver; every body it took is validated against the JSON Schema files published in
 * `docs/events/v1/`, read from disk as a vendor would read them.
 */

const SCHEMAS = join(__dirname, '..', 'docs', 'events', 'v1');
const SECRET = 'webhook-secret-for-the-published-schemas-0123';
const MINUTE_MS = 60_000;

/** One validator per published file, keyed by the event type the file is named after. */
const publishedValidators = (): Map<string, ValidateFunction> => {
  // Strict, as a careful vendor compiles them: a schema strict ajv refuses fails here too.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return new Map(
    readdirSync(SCHEMAS)
      .filter((name) => name.endsWith('.schema.json'))
      .map((name) => [
        name.replace(/\.schema\.json$/, ''),
        ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, name), 'utf8')) as object),
      ]),
  );
};

interface InvalidBody {
  readonly type: string;
  readonly errors: unknown;
  readonly body: string;
}

/** The webhook bodies that break their type's published schema (or have none), with why. */
const invalidBodies = (receiver: WebhookReceiver): InvalidBody[] => {
  const validators = publishedValidators();
  return receiver.received.flatMap(({ body }): InvalidBody[] => {
    const { type } = JSON.parse(body) as { type: string };
    const validate = validators.get(type);
    if (!validate) return [{ type, errors: 'no published schema', body }];
    return validate(JSON.parse(body)) ? [] : [{ type, errors: validate.errors, body }];
  });
};

/** Every outbox row written since `sinceEpochMs`, whatever its delivery. */
const outboxSince = async (store: Store, sinceEpochMs: number) => {
  const { items, nextCursor } = await store.listOutbox(
    { by: 'time', fromEpochMs: sinceEpochMs, toEpochMs: Date.now() + MINUTE_MS },
    { limit: 1_000 },
  );
  expect(nextCursor).toBeNull();
  return items;
};

/** What the vendor was told: every row reached the receiver, and every body is valid. */
const expectPublishedShapes = async (
  receiver: WebhookReceiver,
  store: Store,
  sinceEpochMs: number,
  expectedTypes: readonly string[],
) => {
  const rows = await outboxSince(store, sinceEpochMs);
  const received = new Set(receiver.received.map(({ event }) => event.id));
  expect(rows.filter((row) => !received.has(row.id)).map((row) => row.type)).toEqual([]);
  expect(receiver.refused).toEqual([]);
  expect(invalidBodies(receiver)).toEqual([]);
  const seen = new Set(receiver.received.map(({ event }) => event.type));
  expect(expectedTypes.filter((type) => !seen.has(type))).toEqual([]);
};

const webhookEnv = (receiver: WebhookReceiver) => ({
  WEBHOOK_URLS: receiver.url,
  WEBHOOK_SECRETS: SECRET,
});

describe('the events real Google Cloud flows send, against the published schemas', () => {
  let receiver: WebhookReceiver;
  let stack: GcpStack;
  let api: VendorApiUnderTest;
  const startedAtEpochMs = Date.now() - MINUTE_MS;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secrets: [SECRET], nowEpochMs: Date.now });
    stack = await startGcpStack(webhookEnv(receiver));
    api = await startGcpVendorApi({ useCurrentProject: true, env: webhookEnv(receiver) });
  });
  afterAll(async () => {
    await api?.stop();
    await stack?.stop();
    await receiver?.close();
  });

  const runUsageReport = () =>
    fetch(stack.urls.usageReport, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.sim.gcp.oidcToken({
          audience: stack.urls.usageReport,
          email: SCHEDULER_SERVICE_ACCOUNT,
        })}`,
      },
    });
  const addHour = (key: UsageHourKey, quantity: number) =>
    stack.store.addUsage({
      ...key,
      records: [{ usageId: randomUUID(), quantity }],
      dedupeExpiresAtEpochSeconds: Math.floor(Date.now() / 1000) + 3_600,
      nowEpochMs: Date.now(),
    });

  it('validates every webhook of a purchase’s life, its account and its usage', async () => {
    // A purchase from order to deletion.
    const bought = await stack.sim.gcp.purchase({ plan: 'pro' });
    await signUpAndSettle(stack, bought.signupToken);
    const id = bought.entitlementId;
    await stack.sim.gcp.buyerAction(id, 'change-plan', { plan: 'team' });
    await stack.sim.idle();
    await stack.sim.gcp.buyerAction(id, 'renew');
    await stack.sim.gcp.buyerAction(id, 'cancel');
    await stack.sim.gcp.buyerAction(id, 'revert-cancellation');
    await stack.sim.gcp.buyerAction(id, 'cancel', { immediate: true });
    await stack.sim.gcp.buyerAction(id, 'delete');

    // An administrator unlinks the account from its tenant, then links it back.
    const { tenantId } = (
      await api.call({ route: '/v1/entitlements/{id}', params: { id: `gcp:${id}` } })
    ).json as { tenantId: string };
    const accountId = `gcp:${bought.accountId}`;
    const unlinked = await unlinkAccount(api, tenantId, accountId);
    expect(unlinked.status).toBe(200);
    const linked = await linkAccount(api, tenantId, accountId);
    expect(linked.status).toBe(201);

    // Usage: a dimension no metric fits, and a consumer whose billing Google disabled.
    const metered = await stack.sim.gcp.purchase({ plan: 'pro', usage: true });
    await signUpAndSettle(stack, metered.signupToken);
    const stopped = await stack.sim.gcp.purchase({ plan: 'pro', usage: true });
    await signUpAndSettle(stack, stopped.signupToken);
    const hourStartEpochMs = lastClosedHourStartEpochMs(Date.now());
    const key = { cloud: 'gcp' as const, dimension: 'requests', hourStartEpochMs };
    await addHour({ ...key, entitlementId: metered.entitlementId, dimension: 'storage' }, 1);
    await addHour({ ...key, entitlementId: stopped.entitlementId }, 3);
    stack.sim.gcp.forceCheckError(stopped.usageReportingId!, 'BILLING_DISABLED');
    const report = await runUsageReport();
    stack.sim.gcp.forceCheckError(stopped.usageReportingId!, undefined);
    expect(report.status).toBe(200);

    // Google deletes a buyer's account.
    const leaving = await stack.sim.gcp.purchase({ plan: 'pro' });
    await signUpAndSettle(stack, leaving.signupToken);
    await stack.sim.gcp.deleteAccount(leaving.accountId);
    await stack.sim.idle();

    await expectPublishedShapes(receiver, stack.store, startedAtEpochMs, [
      'entitlement.pending_approval',
      'entitlement.activated',
      'account.signed_up',
      'entitlement.plan_changed',
      'entitlement.renewed',
      'entitlement.cancellation_scheduled',
      'entitlement.cancellation_reverted',
      'entitlement.cancelled',
      'entitlement.deleted',
      'account.unlinked',
      'account.linked',
      'usage.rejected',
      'usage.reporting_stopped',
      'account.deleted',
    ]);
  });
});

describe('the events real AWS flows send, against the published schemas', () => {
  let receiver: WebhookReceiver;
  let stack: AwsStack;
  let api: VendorApiUnderTest;
  const startedAtEpochMs = Date.now() - MINUTE_MS;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secrets: [SECRET], nowEpochMs: Date.now });
    stack = await startAwsStack({
      aws: { unsubscribeCompleteAfterMs: null },
      env: webhookEnv(receiver),
    });
    api = await startAwsVendorApi({ useCurrentTable: true, env: webhookEnv(receiver) });
  });
  afterAll(async () => {
    await api?.stop();
    await stack?.stop();
    await receiver?.close();
  });

  it('validates every webhook of SNS and EventBridge subscriptions, their contracts and usage', async () => {
    // SNS (legacy listing): subscribe, sign up, unsubscribe-pending with a contract change in
    // its hour, resubscribe, then unsubscribe for good.
    const legacy = await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'sns',
      contract: { users: 5 },
    });
    expect((await postRegistration(stack, legacy.registrationToken)).status).toBe(303);
    await stack.sim.aws.act(legacy.licenseArn, 'unsubscribe');
    await stack.sim.aws.act(legacy.licenseArn, 'update-contract', { contract: { users: 8 } });
    await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'sns',
      customerAWSAccountId: legacy.customerAWSAccountId,
    });
    await stack.sim.aws.act(legacy.licenseArn, 'unsubscribe');
    await stack.sim.aws.act(legacy.licenseArn, 'unsubscribe-complete');

    // EventBridge: the signup before AWS confirms, a contract change, then deprovisioning.
    const current = await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'eventbridge',
      pending: true,
      contract: { users: 1 },
    });
    expect((await postRegistration(stack, current.registrationToken)).status).toBe(303);
    await stack.sim.aws.act(current.licenseArn, 'confirm');
    await stack.sim.aws.act(current.licenseArn, 'update-contract', { contract: { users: 9 } });

    // An hour older than AWS's window: refused, and the vendor told.
    const buyer = await subscribe(stack, { style: 'eventbridge' });
    await addUsage(stack, usageKey(buyer, 'requests', hourAgo(30)), 5);
    expect(await stack.metering(scheduledEvent())).toMatchObject({ rejected: 1 });

    // An administrator links the buyer's second account to its tenant, then unlinks it.
    const { tenantId } = (
      await api.call({
        route: '/v1/entitlements/{id}',
        params: { id: `aws:${current.licenseArn}` },
        raw: true,
      })
    ).json as { tenantId: string };
    const second = await stack.sim.aws.subscribe({
      productCode: PRODUCT_CODE,
      style: 'eventbridge',
    });
    const accountId = `aws:${second.customerAWSAccountId}`;
    const linked = await linkAccount(api, tenantId, accountId);
    expect(linked.status).toBe(201);
    const unlinked = await unlinkAccount(api, tenantId, accountId);
    expect(unlinked.status).toBe(200);

    await stack.sim.aws.act(current.licenseArn, 'unsubscribe');
    await stack.sim.aws.act(current.licenseArn, 'unsubscribe-complete');

    await expectPublishedShapes(receiver, stack.store, startedAtEpochMs, [
      'entitlement.pending_approval',
      'entitlement.activated',
      'account.signed_up',
      'entitlement.cancellation_scheduled',
      'entitlement.updated',
      'entitlement.cancellation_reverted',
      'entitlement.cancelled',
      'usage.rejected',
      'account.linked',
      'account.unlinked',
    ]);
    // The contract change says what the contract is now.
    const changed = receiver.received.find(
      ({ event }) =>
        event.type === 'entitlement.updated' && event.entitlementId === `aws:${current.licenseArn}`,
    );
    expect(changed?.event.data).toMatchObject({
      contract: [{ dimension: 'users', value: 9, expiresAt: expect.any(String) }],
    });
  });
});
