import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Entitlement, OutboxMessage } from '../shared/domain/model';
import type { LicenseView } from '../sim/aws/license-view';
import type { NotificationStyle } from '../sim/aws/model';
import { snsTopicArn } from '../sim/aws/notifications';
import type { RecordedMessage } from '../sim/messages';
import { PRODUCT_CODE, startAwsStack } from './support/aws-stack';
import {
  OTHER_PRODUCT,
  WITH_OTHER_PRODUCT,
  entitlementIdOf,
  eventIdOf,
  recordOf,
  sentAtOf,
  sqsEventOf,
} from './support/aws-messages';
import type { AwsStack } from './support/aws-stack';

/**
 * The notifications function when deliveries go wrong: forged and tampered SNS messages,
 * duplicates, reordering, a failing Entitlement Service, a dead-letter queue, and batches that
 * mix bad records with good ones. Deliveries are real SQS events over HTTP, from the
 * simulator's queue or built by hand in the documented shape.
 */

/** The cloud-neutral status each state of an AWS license maps to. */
const STATUS_OF_LICENSE: Readonly<Record<LicenseView['status'], string | null>> = {
  pending: null,
  active: 'active',
  'unsubscribe-pending': 'pending_cancellation',
  unsubscribed: 'cancelled',
  failed: 'cancelled',
};

/** A small deterministic shuffle, so a failing order can be replayed. */
const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const copy = [...items];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
};

interface SnsFields {
  readonly Type: 'Notification';
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: string;
}
type SnsEnvelope = SnsFields & {
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly UnsubscribeURL: string;
};

/**
 * Signs as SNS documents it ("Verifying the signatures of Amazon SNS messages"): Message,
 * MessageId, Subject (absent here), Timestamp, TopicArn and Type, each as `Key\nValue\n`; RSA
 * with SHA1 for version 1, SHA256 for version 2.
 */
const signSns = (
  fields: SnsFields,
  key: KeyObject,
  certUrl: string,
  digest = fields.SignatureVersion === '2' ? 'sha256' : 'sha1',
): SnsEnvelope => {
  const text = (['Message', 'MessageId', 'Timestamp', 'TopicArn', 'Type'] as const)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join('');
  return {
    ...fields,
    Signature: sign(digest, Buffer.from(text, 'utf8'), key).toString('base64'),
    SigningCertURL: certUrl,
    UnsubscribeURL: `${new URL(certUrl).origin}/?Action=Unsubscribe&SubscriptionArn=x`,
  };
};

/** Messages that say something of the purchase itself (agreement events name no license). */
const touchesPurchase = (message: RecordedMessage) =>
  !message.eventType.startsWith('Purchase Agreement');

const until = async (condition: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('AWS notifications under chaos', () => {
  let stack: AwsStack;
  /** The simulator's clock runs ahead of the wall by this much: buyers act seconds apart. */
  let skewMs = 0;
  const later = () => {
    skewMs += 2_000;
  };
  let strangerKey: KeyObject;

  beforeAll(async () => {
    stack = await startAwsStack({
      now: () => Date.now() + skewMs,
      aws: {
        products: WITH_OTHER_PRODUCT,
        unsubscribeCompleteAfterMs: null,
      },
    });
    strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  });
  afterAll(() => stack?.stop());
  afterEach(async () => {
    stack.sim.resetFaults();
    stack.sim.aws.configure({
      deliver: 'sync',
      emptyPages: 'leading',
      snsSignatureVersion: '1',
      visibilityTimeoutMs: 300,
      maxReceiveCount: 5,
    });
    // Messages a test left in the queue are delivered now, before the next test looks.
    await stack.sim.idle(15_000);
  });

  const entitlement = (id: string) => stack.store.getEntitlement({ cloud: 'aws', id });
  const account = (id: string) => stack.store.getAccount({ cloud: 'aws', id });
  const event = (eventId: string) => stack.store.getEvent('aws', eventId);
  const calls = (operation: string) => stack.sim.aws.calls()[operation] ?? 0;
  const messagesOf = (ids: readonly string[]): RecordedMessage[] =>
    ids.map((id) => {
      const found = stack.sim.aws.messages().find((message) => message.id === id);
      expect(found).toBeDefined();
      return found!;
    });
  const only = (ids: readonly string[], eventType: string): RecordedMessage => {
    const found = messagesOf(ids).filter((message) => message.eventType === eventType);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  /** POSTs an SQS event to the function's endpoint, as Lambda's event source mapping would. */
  const deliver = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const response = await fetch(stack.urls.sqs, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as SQSBatchResponse;
  };

  /** A subscribe-success for a buyer nobody has seen, signed with the simulator's SNS key. */
  const signedSubscribeSuccess = (
    options: { version?: '1' | '2'; topicArn?: string } = {},
  ): { envelope: SnsEnvelope; entitlementId: string; customerIdentifier: string } => {
    const customerIdentifier = `F${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
    const key = stack.sim.aws.snsSigningKey();
    const envelope = signSns(
      {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: options.topicArn ?? snsTopicArn('subscription', PRODUCT_CODE),
        Message: JSON.stringify({
          action: 'subscribe-success',
          'customer-identifier': customerIdentifier,
          'product-code': PRODUCT_CODE,
          'offer-identifier': 'offer-demolocalpublic1',
          isFreeTrialTermPresent: 'false',
        }),
        Timestamp: new Date().toISOString(),
        SignatureVersion: options.version ?? '1',
      },
      key.privateKey,
      key.certUrl,
    );
    return { envelope, entitlementId: `${customerIdentifier}:${PRODUCT_CODE}`, customerIdentifier };
  };

  describe('forged and tampered SNS messages', () => {
    const certUrl = () => stack.sim.aws.snsSigningKey().certUrl;
    const resign = (envelope: SnsEnvelope, key: KeyObject, digest?: string) =>
      signSns(
        {
          Type: envelope.Type,
          MessageId: envelope.MessageId,
          TopicArn: envelope.TopicArn,
          Message: envelope.Message,
          Timestamp: envelope.Timestamp,
          SignatureVersion: envelope.SignatureVersion,
        },
        key,
        envelope.SigningCertURL,
        digest,
      );

    it.each<[string, (envelope: SnsEnvelope) => SnsEnvelope, RegExp]>([
      [
        'a Message changed after signing',
        (envelope) => ({
          ...envelope,
          Message: envelope.Message.replace('subscribe-success', 'unsubscribe-success'),
        }),
        /signature does not match/,
      ],
      [
        'a Timestamp changed after signing',
        (envelope) => ({ ...envelope, Timestamp: new Date(Date.now() + 60_000).toISOString() }),
        /signature does not match/,
      ],
      [
        'a signature made with another key',
        (envelope) => resign(envelope, strangerKey),
        /signature does not match/,
      ],
      [
        'a version 2 signature labelled version 1',
        (envelope) => resign(envelope, stack.sim.aws.snsSigningKey().privateKey, 'sha256'),
        /signature does not match/,
      ],
      [
        'a Signature that is not base64',
        (envelope) => ({ ...envelope, Signature: 'forged!signature' }),
        /not base64/,
      ],
      [
        'a SigningCertURL on another host',
        (envelope) => ({
          ...envelope,
          SigningCertURL: `https://sns.us-east-1.amazonaws.com.attacker.example${new URL(certUrl()).pathname}`,
        }),
        /SigningCertURL host/,
      ],
      [
        'a SigningCertURL on the trusted host that is not a certificate',
        (envelope) => ({ ...envelope, SigningCertURL: `${new URL(certUrl()).origin}/_sim/health` }),
        /does not name a \.pem/,
      ],
      [
        'a TopicArn not in SNS_TOPIC_ARNS (correctly signed)',
        (envelope) =>
          resign(
            { ...envelope, TopicArn: snsTopicArn('subscription', OTHER_PRODUCT) },
            stack.sim.aws.snsSigningKey().privateKey,
          ),
        /unexpected topic/,
      ],
      [
        'SignatureVersion 3',
        (envelope) => ({ ...envelope, SignatureVersion: '3' }),
        /SignatureVersion 3 is not supported/,
      ],
    ])(
      'refuses %s: a dead letter with the reason, acknowledged, nothing changed',
      async (_, tamper, reason) => {
        const genuine = signedSubscribeSuccess();
        const forged = tamper(genuine.envelope);
        const batch = sqsEventOf(stack.sim.aws.queueArn, JSON.stringify(forged));
        const outboxBefore = await stack.store.claimOutbox({
          nowEpochMs: Date.now() + 60_000,
          limit: 1_000,
          leaseMs: 0,
        });

        expect(await deliver(batch)).toEqual({ batchItemFailures: [] });

        // Kept under the SQS message id: the MessageId of an unverified message proves nothing.
        const recorded = await event(`sqs:${batch.Records[0]!.messageId}`);
        expect(recorded).toMatchObject({ outcome: 'dead_letter', accountId: null });
        expect(recorded!.reason).toMatch(reason);
        expect(recorded!.payload).toEqual(JSON.parse(forged.Message));
        expect(await event(forged.MessageId)).toBeNull();
        expect(await entitlement(genuine.entitlementId)).toBeNull();
        expect(await account(genuine.customerIdentifier)).toBeNull();
        const outboxAfter = await stack.store.claimOutbox({
          nowEpochMs: Date.now() + 60_000,
          limit: 1_000,
          leaseMs: 0,
        });
        expect(outboxAfter.map((row) => row.id).sort()).toEqual(
          outboxBefore.map((row) => row.id).sort(),
        );
      },
    );

    it('a forged copy delivered first does not keep the genuine message out', async () => {
      const genuine = signedSubscribeSuccess();
      const forged = {
        ...genuine.envelope,
        Message: genuine.envelope.Message.replace('subscribe-success', 'subscribe-fail'),
      };
      expect(await deliver(sqsEventOf(stack.sim.aws.queueArn, JSON.stringify(forged)))).toEqual({
        batchItemFailures: [],
      });
      expect(await entitlement(genuine.entitlementId)).toBeNull();

      expect(
        await deliver(sqsEventOf(stack.sim.aws.queueArn, JSON.stringify(genuine.envelope))),
      ).toEqual({ batchItemFailures: [] });
      expect(await entitlement(genuine.entitlementId)).toMatchObject({ status: 'active' });
      expect(await event(genuine.envelope.MessageId)).toMatchObject({
        outcome: 'applied',
        type: 'subscribe-success',
      });
    });

    it('accepts a SignatureVersion 2 (SHA256) message signed by hand', async () => {
      const genuine = signedSubscribeSuccess({ version: '2' });
      expect(
        await deliver(sqsEventOf(stack.sim.aws.queueArn, JSON.stringify(genuine.envelope))),
      ).toEqual({ batchItemFailures: [] });
      expect(await entitlement(genuine.entitlementId)).toMatchObject({ status: 'active' });
    });

    it('accepts SignatureVersion 2 from the simulated SNS, through the whole lifecycle', async () => {
      stack.sim.aws.configure({ snsSignatureVersion: '2' });
      const bought = await stack.sim.aws.subscribe({ style: 'sns', contract: { seats: 3 } });
      const id = entitlementIdOf(bought, 'sns');
      const sent = messagesOf(bought.messageIds);
      for (const message of sent) {
        expect(JSON.parse(recordOf(message).body)).toMatchObject({ SignatureVersion: '2' });
        expect(message.state).toBe('delivered');
      }
      expect(await entitlement(id)).toMatchObject({
        status: 'active',
        contract: [{ dimension: 'seats', value: 3 }],
      });
      await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
      expect(await entitlement(id)).toMatchObject({ status: 'pending_cancellation' });
    });

    it('keeps verifying after SNS rotates its signing key', async () => {
      const before = await stack.sim.aws.subscribe({ style: 'sns' });
      const rotated = await stack.sim.aws.rotateSnsKey();
      const after = await stack.sim.aws.subscribe({ style: 'sns' });
      expect(JSON.parse(recordOf(messagesOf(after.messageIds)[0]!).body)).toMatchObject({
        SigningCertURL: rotated.certUrl,
      });
      for (const bought of [before, after]) {
        expect(await entitlement(entitlementIdOf(bought, 'sns'))).toMatchObject({
          status: 'active',
        });
      }
    });

    it('dead-letters an SNS SubscriptionConfirmation and acknowledges it', async () => {
      const confirmation = await stack.sim.aws.sendSubscriptionConfirmation();
      expect(confirmation.state).toBe('delivered');
      expect(confirmation.attempts).toEqual([expect.objectContaining({ status: 200 })]);
      expect(await event(`sqs:${confirmation.id}`)).toMatchObject({
        type: 'UNREADABLE',
        outcome: 'dead_letter',
        reason: expect.stringContaining(
          'SubscriptionConfirmation is not a marketplace notification',
        ),
      });
    });

    it('dead-letters an EventBridge event of another product', async () => {
      const bought = await stack.sim.aws.subscribe({
        productCode: OTHER_PRODUCT,
        style: 'eventbridge',
      });
      const updated = only(bought.messageIds, 'License Updated - Manufacturer');
      expect(updated.state).toBe('delivered');
      expect(await event(eventIdOf(updated))).toMatchObject({
        outcome: 'dead_letter',
        reason: `product ${OTHER_PRODUCT} is not this listing's`,
      });
      expect(await entitlement(bought.licenseArn)).toBeNull();
    });
  });

  describe('duplicates', () => {
    it.each(['sns', 'sns-raw', 'eventbridge'] as const)(
      'redelivering every %s message of a lifecycle twice changes nothing',
      async (style) => {
        const bought = await stack.sim.aws.subscribe({ style, contract: { seats: 4 } });
        const changed = await stack.sim.aws.act(bought.licenseArn, 'update-contract', {
          contract: { seats: 8 },
        });
        const leaving = await stack.sim.aws.act(bought.licenseArn, 'unsubscribe');
        const messages = messagesOf([
          ...bought.messageIds,
          ...changed.messageIds,
          ...leaving.messageIds,
        ]);
        const id = entitlementIdOf(bought, style);
        const snapshot = async () => ({
          entitlement: await entitlement(id),
          events: await Promise.all(messages.map((message) => event(eventIdOf(message)))),
          outbox: await Promise.all(
            messages.map((message) => stack.store.getOutboxMessage(`aws:${eventIdOf(message)}:0`)),
          ),
          extraOutbox: await Promise.all(
            messages.map((message) => stack.store.getOutboxMessage(`aws:${eventIdOf(message)}:1`)),
          ),
        });
        const before = await snapshot();
        expect(before.entitlement).toMatchObject({
          status: style === 'eventbridge' ? 'active' : 'pending_cancellation',
          contract: [{ dimension: 'seats', value: 8 }],
        });
        expect(before.events.every((record) => record !== null)).toBe(true);
        const reads = calls('GetEntitlements');

        for (const message of [...messages, ...messages]) {
          const delivered = await stack.sim.aws.redeliver(message.id);
          expect(delivered.attempts.at(-1)).toMatchObject({ status: 200 });
          expect(delivered.attempts.at(-1)!.error).toBeUndefined();
          expect(delivered.state).toBe('delivered');
        }
        // A duplicate is known before the marketplace is asked.
        expect(calls('GetEntitlements')).toBe(reads);
        expect(await snapshot()).toEqual(before);
      },
    );
  });

  describe('reordered deliveries', () => {
    beforeEach(() => {
      stack.sim.aws.configure({ deliver: 'manual' });
    });

    type Lifecycle = (style: NotificationStyle) => Promise<{
      id: string;
      licenseArn: () => string;
      messageIds: string[];
    }>;

    /** Subscribe, change the contract, cancel, and AWS completes the cancellation. */
    const subscribeChangeCancel: Lifecycle = async (style) => {
      const bought = await stack.sim.aws.subscribe({ style, contract: { seats: 1 } });
      const ids = [...bought.messageIds];
      for (const [action, input] of [
        ['update-contract', { contract: { seats: 2, tier: 'pro' } }],
        ['unsubscribe', undefined],
        ['unsubscribe-complete', undefined],
      ] as const) {
        later();
        ids.push(...(await stack.sim.aws.act(bought.licenseArn, action, input)).messageIds);
      }
      return {
        id: entitlementIdOf(bought, style),
        licenseArn: () => bought.licenseArn,
        messageIds: ids,
      };
    };

    /** Subscribe and amend the contract twice: it ends active with the last contract. */
    const subscribeAmendTwice: Lifecycle = async (style) => {
      const bought = await stack.sim.aws.subscribe({ style, contract: { seats: 1 } });
      const ids = [...bought.messageIds];
      for (const contract of [
        { seats: 5, sso: true },
        { seats: 9, sso: null },
      ]) {
        later();
        ids.push(
          ...(await stack.sim.aws.act(bought.licenseArn, 'update-contract', { contract }))
            .messageIds,
        );
      }
      return {
        id: entitlementIdOf(bought, style),
        licenseArn: () => bought.licenseArn,
        messageIds: ids,
      };
    };

    /** A legacy buyer cancels, then subscribes again before (or after) AWS completes it. */
    const resubscribe =
      (afterCompletion: boolean): Lifecycle =>
      async (style) => {
        const bought = await stack.sim.aws.subscribe({ style });
        const ids = [...bought.messageIds];
        later();
        ids.push(...(await stack.sim.aws.act(bought.licenseArn, 'unsubscribe')).messageIds);
        if (afterCompletion) {
          later();
          ids.push(
            ...(await stack.sim.aws.act(bought.licenseArn, 'unsubscribe-complete')).messageIds,
          );
        }
        later();
        const again = await stack.sim.aws.subscribe({
          style,
          customerAWSAccountId: bought.customerAWSAccountId,
        });
        ids.push(...again.messageIds);
        return {
          id: entitlementIdOf(bought, style),
          licenseArn: () => again.licenseArn,
          messageIds: ids,
        };
      };

    /** The stored purchase matches what AWS says now, snapshot of the newest message. */
    const expectConverged = async (
      lifecycle: Awaited<ReturnType<Lifecycle>>,
      messages: readonly RecordedMessage[],
    ) => {
      const truth = stack.sim.aws.license(lifecycle.licenseArn())!;
      const stored = (await entitlement(lifecycle.id)) as Entitlement;
      expect(stored).toMatchObject({ status: STATUS_OF_LICENSE[truth.status] });
      const newest = Math.max(...messages.filter(touchesPurchase).map(sentAtOf));
      expect(stored.snapshot?.updateTimeEpochMs).toBe(newest);
      if (truth.status === 'active') {
        expect(stored.contract.map((q) => [q.dimension, q.value])).toEqual(
          truth.entitlements.map((e) => [e.Dimension, Object.values(e.Value)[0]]),
        );
      }
      for (const message of messages) {
        expect(message.attempts.length).toBeGreaterThan(0);
        for (const attempt of message.attempts) {
          expect(attempt).toMatchObject({ status: 200 });
          expect(attempt.error).toBeUndefined();
        }
      }
    };

    const redeliverAll = async (ids: readonly string[]) => {
      for (const id of ids) await stack.sim.aws.redeliver(id);
      return messagesOf(ids);
    };

    it.each<[string, NotificationStyle, Lifecycle]>([
      ['subscribe, change, cancel (SNS)', 'sns', subscribeChangeCancel],
      ['subscribe, change, cancel (raw SNS)', 'sns-raw', subscribeChangeCancel],
      ['subscribe, change, cancel (EventBridge)', 'eventbridge', subscribeChangeCancel],
      ['subscribe, amend twice (SNS)', 'sns', subscribeAmendTwice],
      ['subscribe, amend twice (EventBridge)', 'eventbridge', subscribeAmendTwice],
      ['cancel, resubscribe before unsubscribe-success (SNS)', 'sns', resubscribe(false)],
      ['cancel, resubscribe after unsubscribe-success (SNS)', 'sns', resubscribe(true)],
    ])('converges when the newest message comes first: %s', async (_, style, run) => {
      const lifecycle = await run(style);
      const held = messagesOf(lifecycle.messageIds);
      for (const message of held) expect(message.state).toBe('held');
      const messages = await redeliverAll([...lifecycle.messageIds].reverse());
      await expectConverged(lifecycle, messages);
      // Every older message that says something of the purchase was recorded as stale.
      const newestFirst = [...messages].reverse().filter(touchesPurchase);
      const newestAt = sentAtOf(newestFirst[0]!);
      for (const message of newestFirst.filter((m) => sentAtOf(m) < newestAt)) {
        expect(await event(eventIdOf(message))).toMatchObject({ outcome: 'stale' });
      }
    });

    it.each([1, 2, 3])(
      'converges whatever the order and the duplicates (seed %i)',
      async (seed) => {
        const style: NotificationStyle = seed % 2 === 0 ? 'sns' : 'eventbridge';
        const lifecycle = await subscribeChangeCancel(style);
        const ids = shuffled([...lifecycle.messageIds, ...lifecycle.messageIds.slice(0, 3)], seed);
        const messages = await redeliverAll(ids);
        await expectConverged(lifecycle, messages);
        // Whatever the order, the vendor heard that it ended.
        const outbox = (
          await Promise.all(
            messages.map((message) => stack.store.getOutboxMessage(`aws:${eventIdOf(message)}:0`)),
          )
        ).filter((row): row is OutboxMessage => row !== null);
        expect(outbox.map((row) => row.type)).toContain('entitlement.cancelled');
      },
    );
  });

  describe('GetEntitlements failing', () => {
    it('reports the record in batchItemFailures while AWS answers 5xx, and handles it once the fault clears', async () => {
      stack.sim.aws.configure({ deliver: 'manual' });
      const bought = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 6 },
      });
      const created = only(bought.messageIds, 'Purchase Agreement Created - Proposer');
      const updated = only(bought.messageIds, 'License Updated - Manufacturer');
      stack.sim.setFaults({ errorRate: 1, scope: 'aws' });
      const reads = calls('GetEntitlements');

      const answer = await deliver({ Records: [recordOf(created), recordOf(updated)] });
      expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: updated.id }] });
      // The SDK retried before the function gave up on this delivery.
      expect(calls('GetEntitlements') - reads).toBeGreaterThan(1);
      expect(await event(eventIdOf(created))).toMatchObject({ outcome: 'ignored' });
      // Not recorded: a record is what makes a redelivery a duplicate.
      expect(await event(eventIdOf(updated))).toBeNull();
      expect(await entitlement(bought.licenseArn)).toBeNull();

      const failed = await stack.sim.aws.redeliver(updated.id);
      expect(failed.attempts.at(-1)).toMatchObject({
        status: 200,
        error: 'listed in batchItemFailures',
      });
      expect(failed.state).toBe('retrying');
      expect(await entitlement(bought.licenseArn)).toBeNull();

      stack.sim.resetFaults();
      const handled = await stack.sim.aws.redeliver(updated.id);
      expect(handled.state).toBe('delivered');
      expect(handled.attempts.at(-1)!.error).toBeUndefined();
      expect(await entitlement(bought.licenseArn)).toMatchObject({
        status: 'active',
        contract: [{ dimension: 'seats', value: 6 }],
      });
      expect(await event(eventIdOf(updated))).toMatchObject({ outcome: 'applied' });
    });

    it('leaves AWS alone when the faults are scoped to Google', async () => {
      stack.sim.setFaults({ errorRate: 1, scope: 'gcp' });
      const bought = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 1 },
      });
      expect(only(bought.messageIds, 'License Updated - Manufacturer').state).toBe('delivered');
      expect(await entitlement(bought.licenseArn)).toMatchObject({ status: 'active' });
    });

    it('is retried by the queue after the visibility timeout until AWS recovers', async () => {
      stack.sim.aws.configure({ deliver: 'async', visibilityTimeoutMs: 50, maxReceiveCount: 50 });
      stack.sim.setFaults({ errorRate: 1, scope: 'aws' });
      const bought = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 2 },
      });
      const [updated] = messagesOf(bought.messageIds).filter(
        (message) => message.eventType === 'License Updated - Manufacturer',
      );
      await until(() => updated!.attempts.length >= 2);
      expect(await entitlement(bought.licenseArn)).toBeNull();
      stack.sim.resetFaults();
      await stack.sim.idle(15_000);

      expect(updated!.state).toBe('delivered');
      const attempts = updated!.attempts;
      expect(attempts.at(-1)!.error).toBeUndefined();
      for (const attempt of attempts.slice(0, -1)) {
        expect(attempt.error).toBe('listed in batchItemFailures');
      }
      expect(recordOf(updated!).attributes.ApproximateReceiveCount).toBe(String(attempts.length));
      expect(await entitlement(bought.licenseArn)).toMatchObject({ status: 'active' });
    });

    it('moves a message that keeps failing to the dead-letter queue after maxReceiveCount', async () => {
      stack.sim.aws.configure({ deliver: 'async', visibilityTimeoutMs: 20, maxReceiveCount: 3 });
      stack.sim.setFaults({ errorRate: 1, scope: 'aws' });
      const bought = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 3 },
      });
      expect(await stack.sim.idle(20_000)).toBe(true);

      const updated = only(bought.messageIds, 'License Updated - Manufacturer');
      const created = only(bought.messageIds, 'Purchase Agreement Created - Proposer');
      const dead = stack.sim.aws
        .deadLetters()
        .filter((entry) => bought.messageIds.includes(entry.message.id));
      expect(dead.map((entry) => [entry.message.id, entry.receiveCount])).toEqual([
        [updated.id, 3],
      ]);
      expect(updated.state).toBe('failed');
      expect(updated.attempts).toHaveLength(3);
      expect(created.state).toBe('delivered');
      expect(await entitlement(bought.licenseArn)).toBeNull();
      expect(await event(eventIdOf(updated))).toBeNull();

      // An operator redrives it once AWS is back.
      stack.sim.resetFaults();
      const redriven = await stack.sim.aws.redeliver(updated.id);
      expect(redriven.state).toBe('delivered');
      expect(stack.sim.aws.deadLetters().map((entry) => entry.message.id)).not.toContain(
        updated.id,
      );
      expect(await entitlement(bought.licenseArn)).toMatchObject({
        status: 'active',
        contract: [{ dimension: 'seats', value: 3 }],
      });
    });
  });

  describe('a batch mixing bad records with good ones', () => {
    it('dead-letters only the unreadable and forged records and handles the rest', async () => {
      stack.sim.aws.configure({ deliver: 'manual' });
      const licensed = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 2 },
      });
      const legacy = await stack.sim.aws.subscribe({ style: 'sns' });
      const forged = signedSubscribeSuccess();
      const tampered = {
        ...forged.envelope,
        Message: forged.envelope.Message.replace('false', 'true'),
      };
      const bad = sqsEventOf(
        stack.sim.aws.queueArn,
        '{"Type":"Notification","Message":',
        JSON.stringify(tampered),
        JSON.stringify({
          version: '0',
          id: randomUUID(),
          'detail-type': 'Object Created',
          source: 'aws.s3',
          detail: {},
        }),
        // SQS takes bodies up to 1 MiB; no marketplace message comes near this.
        JSON.stringify({ action: 'subscribe-success', padding: 'x'.repeat(600_000) }),
        // Under the size the function reads, but twice as long once escaped as JSON.
        '"'.repeat(200_000),
      ).Records;
      const good = [...messagesOf(licensed.messageIds), ...messagesOf(legacy.messageIds)].map(
        recordOf,
      );
      const records = [good[0]!, bad[0]!, good[1]!, bad[1]!, good[2]!, bad[2]!, bad[3]!, bad[4]!];

      expect(await deliver({ Records: records })).toEqual({ batchItemFailures: [] });

      expect(await entitlement(licensed.licenseArn)).toMatchObject({
        status: 'active',
        contract: [{ dimension: 'seats', value: 2 }],
      });
      expect(await entitlement(entitlementIdOf(legacy, 'sns'))).toMatchObject({ status: 'active' });
      expect(await event(`sqs:${bad[0]!.messageId}`)).toMatchObject({
        type: 'UNREADABLE',
        outcome: 'dead_letter',
        reason: 'body is not JSON',
      });
      expect(await event(`sqs:${bad[1]!.messageId}`)).toMatchObject({
        outcome: 'dead_letter',
        reason: expect.stringMatching(/signature/),
      });
      expect(await entitlement(forged.entitlementId)).toBeNull();
      expect(await event(`sqs:${bad[2]!.messageId}`)).toMatchObject({
        type: 'UNREADABLE',
        outcome: 'dead_letter',
        reason: expect.stringContaining('aws.agreement-marketplace'),
      });
      expect(await event(`sqs:${bad[3]!.messageId}`)).toMatchObject({
        type: 'UNREADABLE',
        outcome: 'dead_letter',
        reason: 'body is larger than 262144 bytes',
      });
      expect(await event(`sqs:${bad[4]!.messageId}`)).toMatchObject({
        type: 'UNREADABLE',
        outcome: 'dead_letter',
        reason: 'body is not JSON',
      });
      // What is kept of a large body is its start, enough to tell what it was.
      for (const record of [bad[3]!, bad[4]!]) {
        const kept = JSON.stringify((await event(`sqs:${record.messageId}`))!.payload);
        expect(kept).toContain(JSON.stringify(record.body.slice(0, 200)).slice(1, -1));
      }
    });

    it('reports only the record that can be retried when AWS throttles it', async () => {
      stack.sim.aws.configure({ deliver: 'manual', emptyPages: 'none' });
      const first = await stack.sim.aws.subscribe({ style: 'eventbridge', contract: { seats: 1 } });
      const second = await stack.sim.aws.subscribe({
        style: 'eventbridge',
        contract: { seats: 2 },
      });
      const legacy = await stack.sim.aws.subscribe({ style: 'sns' });
      const firstUpdated = only(first.messageIds, 'License Updated - Manufacturer');
      const secondUpdated = only(second.messageIds, 'License Updated - Manufacturer');
      const subscribed = only(legacy.messageIds, 'subscribe-success');
      // One request goes through, the next ones are throttled for a long while.
      stack.sim.setFaults({ throttleRps: 0.01, scope: 'aws' });

      const answer = await deliver({
        Records: [recordOf(firstUpdated), recordOf(secondUpdated), recordOf(subscribed)],
      });
      expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: secondUpdated.id }] });
      expect(await entitlement(first.licenseArn)).toMatchObject({ status: 'active' });
      expect(await entitlement(second.licenseArn)).toBeNull();
      expect(await entitlement(entitlementIdOf(legacy, 'sns'))).toMatchObject({ status: 'active' });

      stack.sim.resetFaults();
      expect(await deliver({ Records: [recordOf(secondUpdated)] })).toEqual({
        batchItemFailures: [],
      });
      expect(await entitlement(second.licenseArn)).toMatchObject({
        status: 'active',
        contract: [{ dimension: 'seats', value: 2 }],
      });
    });
  });
});
