import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { verifyHandoffToken } from '../shared/adapters/handoff/handoff-token';
import type { Entitlement, OutboxMessage } from '../shared/domain/model';
import type { RecordedMessage } from '../sim/messages';
import type { SubscribeAnswer } from '../sim/aws/aws-simulator';
import { HANDOFF_SECRET, PRODUCT_CODE, postRegistration, startAwsStack } from './support/aws-stack';
import {
  accountIdOf,
  entitlementIdOf,
  eventIdOf,
  recordOf,
  sentAtOf,
  sqsEventOf,
} from './support/aws-messages';
import type { AwsStack } from './support/aws-stack';

/**
 * Every message AWS Marketplace sends a SaaS seller, from the simulator's queue to the
 * notifications function over real HTTP, checked in what was stored: the entitlement, the
 * account, the event log and the vendor's outbox.
 */

describe('AWS notifications through the queue, the function and DynamoDB Local', () => {
  let stack: AwsStack;
  beforeAll(async () => {
    stack = await startAwsStack({ aws: { unsubscribeCompleteAfterMs: null } });
  });
  afterAll(() => stack?.stop());
  afterEach(() => {
    stack.sim.aws.configure({ emptyPages: 'leading', eventLicenseArn: 'without-prefix' });
  });

  const entitlement = (id: string) => stack.store.getEntitlement({ cloud: 'aws', id });
  const account = (id: string) => stack.store.getAccount({ cloud: 'aws', id });
  const messagesOf = (ids: readonly string[]): RecordedMessage[] => {
    const found = stack.sim.aws.messages().filter((message) => ids.includes(message.id));
    expect(found).toHaveLength(ids.length);
    return found;
  };
  const only = (ids: readonly string[], eventType: string): RecordedMessage => {
    const found = messagesOf(ids).filter((message) => message.eventType === eventType);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const getEntitlementsCalls = () => stack.sim.aws.calls().GetEntitlements ?? 0;

  /** Delivered once, answered 200 and left out of batchItemFailures. */
  const expectAcknowledged = (messages: readonly RecordedMessage[]) => {
    for (const message of messages) {
      expect(message.state).toBe('delivered');
      expect(message.attempts).toEqual([expect.objectContaining({ number: 1, status: 200 })]);
      expect(message.attempts[0]!.error).toBeUndefined();
    }
  };

  /** The outbox rows one message wrote, in order: exactly these types. */
  const expectOutbox = async (
    eventId: string,
    types: readonly string[],
  ): Promise<OutboxMessage[]> => {
    const rows: OutboxMessage[] = [];
    for (let index = 0; index < types.length; index += 1) {
      const row = await stack.store.getOutboxMessage(`aws:${eventId}:${index}`);
      expect(row).not.toBeNull();
      rows.push(row!);
    }
    expect(rows.map((row) => row.type)).toEqual(types);
    expect(await stack.store.getOutboxMessage(`aws:${eventId}:${types.length}`)).toBeNull();
    return rows;
  };

  /** The message was applied and its snapshot is the message's own time. */
  const expectApplied = async (message: RecordedMessage, entitlementId: string | null) => {
    const event = await stack.store.getEvent('aws', eventIdOf(message));
    expect(event).toMatchObject({
      type: message.eventType,
      outcome: 'applied',
      entitlementId,
    });
    return event!;
  };

  describe('SNS (legacy listing)', () => {
    it.each([true, false])(
      'subscribe-success (isFreeTrialTermPresent %s) creates an active purchase waiting for its signup',
      async (freeTrial) => {
        const bought = await stack.sim.aws.subscribe({ style: 'sns', freeTrial });
        const id = entitlementIdOf(bought, 'sns');
        const message = only(bought.messageIds, 'subscribe-success');
        expect(
          JSON.parse((JSON.parse(recordOf(message).body) as { Message: string }).Message),
        ).toMatchObject({
          isFreeTrialTermPresent: String(freeTrial),
        });
        expectAcknowledged([message]);

        expect(await entitlement(id)).toMatchObject({
          status: 'active',
          accountId: bought.customerIdentifier,
          productId: PRODUCT_CODE,
          freeTrial,
          offer: { id: bought.offerId },
          contract: [],
          tenantId: null,
          snapshot: {
            updateTimeEpochMs: sentAtOf(message),
            data: { type: 'subscribe-success' },
          },
        });
        expect(await account(accountIdOf(bought, 'sns'))).toMatchObject({
          status: 'pending_signup',
          tenant: null,
        });
        await expectApplied(message, id);
        const [activated] = await expectOutbox(eventIdOf(message), ['entitlement.activated']);
        expect(activated).toMatchObject({
          entitlementId: id,
          accountId: bought.customerIdentifier,
          tenantId: null,
          data: { status: 'active', productId: PRODUCT_CODE },
        });
      },
    );

    it('subscribe-fail before the confirmation records the purchase as cancelled', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns', pending: true });
      expect(bought.messageIds).toEqual([]);
      const id = entitlementIdOf(bought, 'sns');
      const failed = await stack.sim.aws.act(bought.licenseArn, 'fail');
      const message = only(failed.messageIds, 'subscribe-fail');
      expectAcknowledged([message]);
      expect(await entitlement(id)).toMatchObject({
        status: 'cancelled',
        offer: { id: bought.offerId },
      });
      await expectApplied(message, id);
      await expectOutbox(eventIdOf(message), ['entitlement.cancelled']);
    });

    it('subscribe-fail after subscribe-success cancels the active purchase', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns' });
      const id = entitlementIdOf(bought, 'sns');
      const failed = await stack.sim.aws.act(bought.licenseArn, 'fail');
      const message = only(failed.messageIds, 'subscribe-fail');
      expectAcknowledged([message]);
      expect(await entitlement(id)).toMatchObject({ status: 'cancelled', version: 2 });
      await expectOutbox(eventIdOf(message), ['entitlement.cancelled']);
    });

    it('unsubscribe-pending schedules the cancellation, unsubscribe-success cancels', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns' });
      const id = entitlementIdOf(bought, 'sns');

      const pending = await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
      const pendingMessage = only(pending.messageIds, 'unsubscribe-pending');
      expectAcknowledged([pendingMessage]);
      expect(await entitlement(id)).toMatchObject({
        status: 'pending_cancellation',
        snapshot: { updateTimeEpochMs: sentAtOf(pendingMessage) },
      });
      await expectApplied(pendingMessage, id);
      await expectOutbox(eventIdOf(pendingMessage), ['entitlement.cancellation_scheduled']);

      const done = await stack.sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
      const doneMessage = only(done.messageIds, 'unsubscribe-success');
      expectAcknowledged([doneMessage]);
      expect(await entitlement(id)).toMatchObject({ status: 'cancelled' });
      await expectApplied(doneMessage, id);
      const [cancelled] = await expectOutbox(eventIdOf(doneMessage), ['entitlement.cancelled']);
      expect(cancelled).toMatchObject({ entitlementId: id, data: { status: 'cancelled' } });
    });

    it('a resubscribe after unsubscribe-success reactivates the same purchase', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns' });
      const id = entitlementIdOf(bought, 'sns');
      await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
      await stack.sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
      const cancelled = await entitlement(id);
      expect(cancelled).toMatchObject({ status: 'cancelled' });

      const again = await stack.sim.aws.subscribe({
        style: 'sns',
        customerAWSAccountId: bought.customerAWSAccountId,
      });
      // A legacy listing knows the buyer by the same CustomerIdentifier: the same purchase.
      expect(again.customerIdentifier).toBe(bought.customerIdentifier);
      expect(again.licenseArn).not.toBe(bought.licenseArn);
      expect(entitlementIdOf(again, 'sns')).toBe(id);
      const message = only(again.messageIds, 'subscribe-success');
      expectAcknowledged([message]);
      expect(await entitlement(id)).toMatchObject({
        status: 'active',
        version: cancelled!.version + 1,
        snapshot: { updateTimeEpochMs: sentAtOf(message) },
      });
      await expectOutbox(eventIdOf(message), ['entitlement.activated']);
    });

    it('a resubscribe before unsubscribe-success reverts the cancellation', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns' });
      const id = entitlementIdOf(bought, 'sns');
      await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
      expect(await entitlement(id)).toMatchObject({ status: 'pending_cancellation' });

      const again = await stack.sim.aws.subscribe({
        style: 'sns',
        customerAWSAccountId: bought.customerAWSAccountId,
      });
      expect(again.licenseArn).toBe(bought.licenseArn);
      const message = only(again.messageIds, 'subscribe-success');
      expect(await entitlement(id)).toMatchObject({ status: 'active' });
      await expectOutbox(eventIdOf(message), ['entitlement.cancellation_reverted']);
    });

    it('entitlement-updated stores the contract GetEntitlements answers, and update-contract changes it', async () => {
      const before = getEntitlementsCalls();
      const bought = await stack.sim.aws.subscribe({
        style: 'sns',
        contract: { users: 10, admins: 2, tier: 'gold', sso: true, storage: 1.5 },
      });
      const id = entitlementIdOf(bought, 'sns');
      const updated = only(bought.messageIds, 'entitlement-updated');
      expectAcknowledged(messagesOf(bought.messageIds));
      // subscribe-success reads nothing; entitlement-updated reads the contract (an empty
      // page first, then the page).
      expect(getEntitlementsCalls() - before).toBe(2);
      const expiresAtEpochMs =
        Math.floor(Date.parse(stack.sim.aws.license(bought.licenseArn)!.contractExpiresAt) / 1000) *
        1000;
      expect(await entitlement(id)).toMatchObject({
        status: 'active',
        contract: [
          { dimension: 'admins', value: 2, expiresAtEpochMs },
          { dimension: 'sso', value: true, expiresAtEpochMs },
          { dimension: 'storage', value: 1.5, expiresAtEpochMs },
          { dimension: 'tier', value: 'gold', expiresAtEpochMs },
          { dimension: 'users', value: 10, expiresAtEpochMs },
        ],
      });
      await expectApplied(updated, id);

      const nextYear = new Date(Date.now() + 2 * 365 * 86_400_000);
      nextYear.setUTCMilliseconds(0);
      const changed = await stack.sim.aws.act(bought.licenseArn, 'update-contract', {
        contract: { users: 25, admins: null },
        expiresAt: nextYear.toISOString(),
      });
      const message = only(changed.messageIds, 'entitlement-updated');
      expectAcknowledged([message]);
      const stored = await entitlement(id);
      expect(stored).toMatchObject({ status: 'active' });
      expect(stored!.contract).toEqual([
        { dimension: 'sso', value: true, expiresAtEpochMs: nextYear.getTime() },
        { dimension: 'storage', value: 1.5, expiresAtEpochMs: nextYear.getTime() },
        { dimension: 'tier', value: 'gold', expiresAtEpochMs: nextYear.getTime() },
        { dimension: 'users', value: 25, expiresAtEpochMs: nextYear.getTime() },
      ]);
      await expectOutbox(eventIdOf(message), ['entitlement.updated']);
    });

    it('entitlement-updated during unsubscribe-pending changes the contract, not the cancellation', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns', contract: { users: 5 } });
      const id = entitlementIdOf(bought, 'sns');
      await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
      expect(await entitlement(id)).toMatchObject({ status: 'pending_cancellation' });

      const changed = await stack.sim.aws.act(bought.licenseArn, 'update-contract', {
        contract: { users: 8 },
      });

      const message = only(changed.messageIds, 'entitlement-updated');
      expectAcknowledged([message]);
      expect(await entitlement(id)).toMatchObject({
        status: 'pending_cancellation',
        contract: [expect.objectContaining({ dimension: 'users', value: 8 })],
      });
      await expectOutbox(eventIdOf(message), ['entitlement.updated']);
    });

    it('entitlement-updated with a contract that expired cancels the purchase', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns', contract: { users: 5 } });
      const id = entitlementIdOf(bought, 'sns');
      const changed = await stack.sim.aws.act(bought.licenseArn, 'update-contract', {
        contract: {},
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      });
      const message = only(changed.messageIds, 'entitlement-updated');
      expectAcknowledged([message]);
      expect(await entitlement(id)).toMatchObject({ status: 'cancelled' });
      await expectOutbox(eventIdOf(message), ['entitlement.cancelled']);
    });

    it('raw delivery (no envelope, no signature) goes through the same lifecycle', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns-raw', freeTrial: true });
      const id = entitlementIdOf(bought, 'sns-raw');
      const subscribed = only(bought.messageIds, 'subscribe-success');
      expect(subscribed.channel).toBe('sqs:sns-raw');
      // The body is the marketplace message itself.
      expect(JSON.parse((subscribed.envelope as SQSRecord).body)).toMatchObject({
        action: 'subscribe-success',
        'customer-identifier': bought.customerIdentifier,
      });
      expectAcknowledged([subscribed]);
      expect(await entitlement(id)).toMatchObject({
        status: 'active',
        freeTrial: true,
        snapshot: { updateTimeEpochMs: sentAtOf(subscribed) },
      });
      await expectApplied(subscribed, id);
      await expectOutbox(eventIdOf(subscribed), ['entitlement.activated']);

      const pending = await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
      expect(await entitlement(id)).toMatchObject({ status: 'pending_cancellation' });
      await expectOutbox(eventIdOf(only(pending.messageIds, 'unsubscribe-pending')), [
        'entitlement.cancellation_scheduled',
      ]);
      const done = await stack.sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
      expect(await entitlement(id)).toMatchObject({ status: 'cancelled' });
      await expectOutbox(eventIdOf(only(done.messageIds, 'unsubscribe-success')), [
        'entitlement.cancelled',
      ]);
    });
  });

  describe('EventBridge', () => {
    it.each(['without-prefix', 'with-prefix'] as const)(
      'License Updated and License Deprovisioned with a license ARN %s key the purchase by its LicenseArn',
      async (eventLicenseArn) => {
        stack.sim.aws.configure({ eventLicenseArn });
        const bought = await stack.sim.aws.subscribe({
          style: 'eventbridge',
          contract: { seats: 20 },
        });
        const id = bought.licenseArn;
        expect(id).toMatch(/^arn:aws:license-manager:/);
        const updated = only(bought.messageIds, 'License Updated - Manufacturer');
        const created = only(bought.messageIds, 'Purchase Agreement Created - Proposer');
        const arnInEvent = (updated.payload as { detail: { license: { arn: string } } }).detail
          .license.arn;
        expect(arnInEvent).toBe(eventLicenseArn === 'with-prefix' ? id : id.replace(/^arn:/, ''));
        expectAcknowledged([updated, created]);

        expect(await entitlement(id)).toMatchObject({
          status: 'active',
          accountId: bought.customerAWSAccountId,
          productId: PRODUCT_CODE,
          offer: { id: bought.offerId },
          contract: [{ dimension: 'seats', value: 20 }],
          tenantId: null,
          snapshot: { updateTimeEpochMs: sentAtOf(updated) },
        });
        expect(await account(accountIdOf(bought, 'eventbridge'))).toMatchObject({
          status: 'pending_signup',
        });
        await expectApplied(updated, id);
        await expectOutbox(eventIdOf(updated), ['entitlement.activated']);

        // Ending the agreement names no license: the purchase waits for License Deprovisioned.
        const ending = await stack.sim.aws.act(id, 'unsubscribe');
        const ended = only(ending.messageIds, 'Purchase Agreement Ended - Proposer');
        expectAcknowledged([ended]);
        expect(await stack.store.getEvent('aws', eventIdOf(ended))).toMatchObject({
          outcome: 'ignored',
          accountId: bought.customerAWSAccountId,
          entitlementId: null,
        });
        expect(await entitlement(id)).toMatchObject({ status: 'active' });

        const done = await stack.sim.aws.act(id, 'unsubscribe-complete');
        const deprovisioned = only(done.messageIds, 'License Deprovisioned - Manufacturer');
        expectAcknowledged([deprovisioned]);
        expect(await entitlement(id)).toMatchObject({ status: 'cancelled' });
        await expectApplied(deprovisioned, id);
        await expectOutbox(eventIdOf(deprovisioned), ['entitlement.cancelled']);
      },
    );

    it.each([
      ['leading', 3],
      ['interleaved', 4],
      ['none', 2],
    ] as const)(
      'reads a 30-dimension contract over every GetEntitlements page (empty pages: %s)',
      async (emptyPages, calls) => {
        stack.sim.aws.configure({ emptyPages });
        const contract = Object.fromEntries(
          Array.from({ length: 30 }, (_, i) => [`dim${String(i).padStart(2, '0')}`, i + 1]),
        );
        const before = getEntitlementsCalls();
        const bought = await stack.sim.aws.subscribe({ style: 'eventbridge', contract });
        expectAcknowledged(messagesOf(bought.messageIds));
        // 25 a page: 2 pages of entitlements, and the empty ones carrying a NextToken.
        expect(getEntitlementsCalls() - before).toBe(calls);
        const stored = await entitlement(bought.licenseArn);
        expect(stored).toMatchObject({ status: 'active' });
        expect(stored!.contract.map((q) => [q.dimension, q.value])).toEqual(
          Object.entries(contract),
        );
      },
    );

    it('update-contract amends the agreement and the License Updated re-read stores the new contract', async () => {
      const bought = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 10, tier: 'basic' },
      });
      const id = bought.licenseArn;
      const expiresAt = new Date(Date.now() + 3 * 365 * 86_400_000);
      expiresAt.setUTCMilliseconds(0);
      const changed = await stack.sim.aws.act(id, 'update-contract', {
        contract: { seats: 50, tier: null, sso: true },
        expiresAt: expiresAt.toISOString(),
      });
      const amended = only(changed.messageIds, 'Purchase Agreement Amended - Proposer');
      const updated = only(changed.messageIds, 'License Updated - Manufacturer');
      expectAcknowledged([amended, updated]);
      expect(await stack.store.getEvent('aws', eventIdOf(amended))).toMatchObject({
        outcome: 'ignored',
        type: 'Purchase Agreement Amended - Proposer',
      });
      const stored = await entitlement(id);
      expect(stored).toMatchObject({ status: 'active' });
      expect(stored!.contract).toEqual([
        { dimension: 'seats', value: 50, expiresAtEpochMs: expiresAt.getTime() },
        { dimension: 'sso', value: true, expiresAtEpochMs: expiresAt.getTime() },
      ]);
      await expectApplied(updated, id);
      await expectOutbox(eventIdOf(updated), ['entitlement.updated']);
    });

    it('a contract whose end is past deprovisions the purchase, when bought and when amended', async () => {
      // GetEntitlements gives ExpirationDate in whole seconds.
      const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString();
      const expired = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 1 },
        expiresAt: past,
      });
      const updated = only(expired.messageIds, 'License Updated - Manufacturer');
      expectAcknowledged([updated]);
      expect(await entitlement(expired.licenseArn)).toMatchObject({
        status: 'cancelled',
        contract: [{ dimension: 'seats', value: 1, expiresAtEpochMs: Date.parse(past) }],
      });
      await expectOutbox(eventIdOf(updated), ['entitlement.cancelled']);

      const live = await stack.sim.aws.subscribe({ style: 'eventbridge', contract: { seats: 3 } });
      expect(await entitlement(live.licenseArn)).toMatchObject({ status: 'active' });
      const changed = await stack.sim.aws.act(live.licenseArn, 'update-contract', {
        contract: {},
        expiresAt: past,
      });
      const message = only(changed.messageIds, 'License Updated - Manufacturer');
      expect(await entitlement(live.licenseArn)).toMatchObject({ status: 'cancelled' });
      await expectOutbox(eventIdOf(message), ['entitlement.cancelled']);
    });

    it.each([false, true])(
      'records the Purchase Agreement events (channel partner offer: %s) and acknowledges them',
      async (cppo) => {
        const role = cppo ? 'Manufacturer' : 'Proposer';
        const bought = await stack.sim.aws.subscribe({ style: 'eventbridge', cppo });
        await stack.sim.aws.act(bought.licenseArn, 'update-contract', { contract: { seats: 2 } });
        await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
        const agreementEvents = stack.sim.aws
          .messages()
          .filter(
            (message) =>
              message.eventType.startsWith('Purchase Agreement') &&
              JSON.stringify(message.payload).includes(bought.agreementId),
          );
        expect(agreementEvents.map((message) => message.eventType)).toEqual([
          `Purchase Agreement Created - ${role}`,
          `Purchase Agreement Amended - ${role}`,
          `Purchase Agreement Ended - ${role}`,
        ]);
        expectAcknowledged(agreementEvents);
        for (const message of agreementEvents) {
          const event = await stack.store.getEvent('aws', eventIdOf(message));
          expect(event).toEqual(
            expect.objectContaining({
              type: message.eventType,
              outcome: 'ignored',
              accountId: bought.customerAWSAccountId,
              entitlementId: null,
              payload: message.payload,
            }),
          );
          await expectOutbox(eventIdOf(message), []);
        }
      },
    );

    it('keeps concurrent agreements of one account apart, and one signup links them all', async () => {
      const first = await stack.sim.aws.subscribe({ style: 'eventbridge', contract: { seats: 5 } });
      const second = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 7 },
        customerAWSAccountId: first.customerAWSAccountId,
      });
      expect(second.licenseArn).not.toBe(first.licenseArn);
      for (const [bought, seats] of [
        [first, 5],
        [second, 7],
      ] as const) {
        expect(await entitlement(bought.licenseArn)).toMatchObject({
          status: 'active',
          accountId: first.customerAWSAccountId,
          contract: [{ dimension: 'seats', value: seats }],
          tenantId: null,
        });
      }

      const response = await postRegistration(stack, first.registrationToken);
      expect(response.status).toBe(303);
      const handoff = await verifyHandoffToken(
        new URL(response.headers.get('location')!).searchParams.get('handoff')!,
        { secret: HANDOFF_SECRET },
      );
      expect(handoff).toMatchObject({ cloud: 'aws', accountId: first.customerAWSAccountId });
      const linked = await Promise.all([
        entitlement(first.licenseArn),
        entitlement(second.licenseArn),
      ]);
      expect(linked.map((e) => e?.tenantId)).toEqual([handoff.tenantId, handoff.tenantId]);
      expect(await account(first.customerAWSAccountId)).toMatchObject({
        status: 'active',
        tenant: { tenantId: handoff.tenantId },
      });

      // A later change to one agreement leaves the other as it is.
      await stack.sim.aws.act(second.licenseArn, 'unsubscribe');
      await stack.sim.aws.act(second.licenseArn, 'unsubscribe-complete');
      const [one, two] = await Promise.all([
        entitlement(first.licenseArn),
        entitlement(second.licenseArn),
      ]);
      expect(one).toMatchObject({ status: 'active', tenantId: handoff.tenantId });
      expect(two).toMatchObject({ status: 'cancelled', tenantId: handoff.tenantId });
    });
  });

  describe('messages of types the function does not know', () => {
    const unknownSnsBody = (bought: SubscribeAnswer) =>
      JSON.stringify({
        action: 'subscribe-renewed',
        'customer-identifier': bought.customerIdentifier,
        'product-code': PRODUCT_CODE,
      });

    it('records an unknown SNS action handed straight to the handler, once, and never asks for a retry', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'sns' });
      const id = entitlementIdOf(bought, 'sns');
      const before = await entitlement(id);
      const event = sqsEventOf(stack.sim.aws.queueArn, unknownSnsBody(bought));
      const eventId = `sqs:${event.Records[0]!.messageId}`;

      expect(await stack.notifications(event)).toEqual({ batchItemFailures: [] });
      const recorded = await stack.store.getEvent('aws', eventId);
      expect(recorded).toMatchObject({
        type: 'subscribe-renewed',
        outcome: 'ignored',
        accountId: bought.customerIdentifier,
        entitlementId: id,
        payload: JSON.parse(unknownSnsBody(bought)),
      });
      await expectOutbox(eventId, []);
      expect(await entitlement(id)).toEqual(before);

      // Delivered again (SQS at-least-once): a duplicate, still acknowledged.
      expect(await stack.notifications(event)).toEqual({ batchItemFailures: [] });
      expect(await stack.store.getEvent('aws', eventId)).toEqual(recorded);
      expect(await entitlement(id)).toEqual(before);
    });

    it('records an unknown EventBridge detail-type POSTed to the function over HTTP', async () => {
      const bought = await stack.sim.aws.subscribe({ style: 'eventbridge' });
      const before = await entitlement(bought.licenseArn);
      const eventBridgeId = randomUUID();
      const body = JSON.stringify({
        version: '0',
        id: eventBridgeId,
        'detail-type': 'License Transferred - Manufacturer',
        source: 'aws.agreement-marketplace',
        account: stack.sim.aws.sellerAccountId,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: 'us-east-1',
        resources: [],
        detail: {
          product: { code: PRODUCT_CODE },
          license: { arn: bought.licenseArn.replace(/^arn:/, '') },
          acceptor: { accountId: bought.customerAWSAccountId },
        },
      });
      const post = () =>
        fetch(stack.urls.sqs, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sqsEventOf(stack.sim.aws.queueArn, body)),
        });
      for (let delivery = 0; delivery < 2; delivery += 1) {
        const response = await post();
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ batchItemFailures: [] });
      }
      expect(await stack.store.getEvent('aws', eventBridgeId)).toMatchObject({
        type: 'License Transferred - Manufacturer',
        outcome: 'ignored',
        accountId: bought.customerAWSAccountId,
        entitlementId: bought.licenseArn,
      });
      await expectOutbox(eventBridgeId, []);
      expect(await entitlement(bought.licenseArn)).toEqual(before);
    });
  });

  it('leaves a vendor outbox row for every change of a lifecycle, tenant included once signed up', async () => {
    const bought = await stack.sim.aws.subscribe({ style: 'eventbridge', contract: { seats: 1 } });
    const id = bought.licenseArn;
    const response = await postRegistration(stack, bought.registrationToken);
    expect(response.status).toBe(303);
    const tenantId = (await entitlement(id))!.tenantId;
    expect(tenantId).toEqual(expect.any(String));
    const steps: Array<[string, string]> = [];
    const record = (ids: readonly string[], type: string, vendorEvent: string) =>
      steps.push([eventIdOf(only(ids, type)), vendorEvent]);
    record(
      (await stack.sim.aws.act(id, 'update-contract', { contract: { seats: 9 } })).messageIds,
      'License Updated - Manufacturer',
      'entitlement.updated',
    );
    await stack.sim.aws.act(id, 'unsubscribe');
    record(
      (await stack.sim.aws.act(id, 'unsubscribe-complete')).messageIds,
      'License Deprovisioned - Manufacturer',
      'entitlement.cancelled',
    );
    const rows: OutboxMessage[] = [];
    for (const [eventId, vendorEvent] of steps) {
      rows.push(...(await expectOutbox(eventId, [vendorEvent])));
    }
    const stored = (await entitlement(id)) as Entitlement;
    expect(rows.map((row) => [row.tenantId, row.entitlementId, row.accountId])).toEqual(
      rows.map(() => [tenantId, id, stored.accountId]),
    );
    expect(rows.map((row) => row.data.status)).toEqual(['active', 'cancelled']);

    // The outbox hands these rows to the dispatcher: claimable, oldest first.
    const claimed = await stack.store.claimOutbox({
      nowEpochMs: Date.now() + 1_000,
      limit: 1_000,
      leaseMs: 1,
    });
    const claimedIds = claimed.map((row) => row.id);
    for (const row of rows) expect(claimedIds).toContain(row.id);
  });
});
