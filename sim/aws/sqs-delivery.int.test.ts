import { createHash } from 'node:crypto';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import type { SqsRecord } from './sqs-queue';
import type { SqsReceiver } from './testing/sqs-receiver';
import { batchItemFailures, createSqsReceiver } from './testing/sqs-receiver';

const PRODUCT = 'sqsproduct000000000000001';
const SELLER = '444455556666';

const detailTypeOf = (record: SqsRecord): string =>
  (JSON.parse(record.body) as { 'detail-type': string })['detail-type'];

describe('SQS deliveries to the notifications function', () => {
  let sim: Simulator;
  let receiver: SqsReceiver;

  beforeAll(async () => {
    receiver = await createSqsReceiver();
    sim = await createSimulator({
      seed: 'sqs',
      aws: {
        products: [{ code: PRODUCT, id: 'prod-sqsproduct01', offerId: 'offer-sqspublic000001' }],
        sellerAccountId: SELLER,
        sqs: {
          endpoint: receiver.url,
          deliver: 'sync',
          visibilityTimeoutMs: 30,
          maxReceiveCount: 3,
        },
        unsubscribeCompleteAfterMs: null,
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.close();
  });
  beforeEach(async () => {
    sim.reset();
    receiver.received.length = 0;
    receiver.respond(() => batchItemFailures());
    sim.aws.configure({
      sqsEndpoint: receiver.url,
      deliver: 'sync',
      batchSize: 10,
      eventLicenseArn: 'without-prefix',
    });
  });

  it('POSTs a Lambda SQS event with EventBridge events in its records', async () => {
    const bought = await sim.aws.subscribe({ productCode: PRODUCT });
    expect(receiver.received).toHaveLength(1);
    const { Records } = receiver.received[0]!.event;
    expect(Records.map(detailTypeOf)).toEqual([
      'Purchase Agreement Created - Proposer',
      'License Updated - Manufacturer',
    ]);
    for (const record of Records) {
      expect(record).toEqual({
        messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        receiptHandle: expect.stringMatching(/^AQEB[A-Za-z0-9+/=]{100,}$/),
        body: expect.any(String),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: expect.stringMatching(/^\d{13}$/),
          SenderId: expect.any(String),
          ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(record.body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-east-1:${SELLER}:marketplace-notifications`,
        awsRegion: 'us-east-1',
      });
    }
    const [created, updated] = Records.map(
      (record) => JSON.parse(record.body) as Record<string, unknown>,
    );
    const common = {
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      source: 'aws.agreement-marketplace',
      account: SELLER,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [`arn:aws:aws-marketplace::aws:agreement:${bought.agreementId}`],
    };
    expect(created).toEqual({
      ...common,
      'detail-type': 'Purchase Agreement Created - Proposer',
      detail: {
        requestId: expect.any(String),
        catalog: 'AWSMarketplace',
        agreement: {
          id: bought.agreementId,
          intent: 'NEW',
          status: 'ACTIVE',
          acceptanceTime: expect.any(String),
          startTime: expect.any(String),
          endTime: expect.any(String),
        },
        acceptor: { accountId: bought.customerAWSAccountId },
        proposer: { accountId: SELLER },
        offer: { id: 'offer-sqspublic000001' },
      },
    });
    expect(updated).toEqual({
      ...common,
      'detail-type': 'License Updated - Manufacturer',
      detail: {
        requestId: expect.any(String),
        catalog: 'AWSMarketplace',
        agreement: { id: bought.agreementId },
        product: { code: PRODUCT, id: 'prod-sqsproduct01' },
        // As AWS's documented example: no `arn:` prefix.
        license: { arn: bought.licenseArn.replace(/^arn:/, '') },
        acceptor: { accountId: bought.customerAWSAccountId },
        proposer: { accountId: SELLER },
        offer: { id: 'offer-sqspublic000001' },
      },
    });
    expect(sim.aws.messages().map((m) => [m.channel, m.state])).toEqual([
      ['sqs:eventbridge', 'delivered'],
      ['sqs:eventbridge', 'delivered'],
    ]);
  });

  it('writes the license ARN with its prefix when configured so', async () => {
    sim.aws.configure({ eventLicenseArn: 'with-prefix' });
    const bought = await sim.aws.subscribe({ productCode: PRODUCT });
    const updated = JSON.parse(receiver.records()[1]!.body) as {
      detail: { license: { arn: string } };
    };
    expect(updated.detail.license.arn).toBe(bought.licenseArn);
  });

  it('sends one record per event with batch size 1', async () => {
    sim.aws.configure({ batchSize: 1 });
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(receiver.received.map((entry) => entry.event.Records.length)).toEqual([1, 1]);
  });

  it('receives again only the items the partial-batch response lists, one count higher', async () => {
    let failOnce = true;
    receiver.respond(({ Records }) => {
      if (!failOnce) return batchItemFailures();
      failOnce = false;
      return batchItemFailures(Records[0]!.messageId);
    });
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(await sim.idle(5_000)).toBe(true);
    const [first, second] = receiver.received.map((entry) => entry.event.Records);
    expect(second).toHaveLength(1);
    expect(second![0]!.messageId).toBe(first![0]!.messageId);
    expect(second![0]!.attributes.ApproximateReceiveCount).toBe('2');
    expect(second![0]!.attributes.ApproximateFirstReceiveTimestamp).toBe(
      first![0]!.attributes.ApproximateFirstReceiveTimestamp,
    );
    expect(second![0]!.receiptHandle).not.toBe(first![0]!.receiptHandle);
    const [retried, kept] = sim.aws.messages();
    expect(retried!.attempts.map((a) => [a.status, a.error])).toEqual([
      [200, 'listed in batchItemFailures'],
      [200, undefined],
    ]);
    expect(kept!.attempts).toHaveLength(1);
  });

  it.each([
    ['an HTTP error', { status: 500 }],
    ['an answer that is not JSON', { status: 200, body: 'OK' }],
    ['an unknown itemIdentifier', batchItemFailures('not-in-this-batch')],
    [
      'an empty itemIdentifier',
      { status: 200, body: { batchItemFailures: [{ itemIdentifier: '' }] } },
    ],
    ['a misspelt key', { status: 200, body: { batchItemFailures: [{ itemIdentifer: 'x' }] } }],
  ])('fails the whole batch on %s, as Lambda does', async (_, answer) => {
    let answered = false;
    receiver.respond(() => {
      if (answered) return batchItemFailures();
      answered = true;
      return answer;
    });
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(await sim.idle(5_000)).toBe(true);
    expect(receiver.received[0]!.event.Records).toHaveLength(2);
    const receives = receiver.records().map((record) => record.attributes.ApproximateReceiveCount);
    expect(receives).toEqual(['1', '1', '2', '2']);
  });

  it.each([
    ['an empty body', { status: 204 }],
    ['null', { status: 200, body: 'null' }],
    ['an empty object', { status: 200, body: {} }],
    ['batchItemFailures null', { status: 200, body: { batchItemFailures: null } }],
  ])('takes %s as the whole batch processed', async (_, answer) => {
    receiver.respond(() => answer);
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(await sim.idle(5_000)).toBe(true);
    expect(receiver.received).toHaveLength(1);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    receiver.respond(({ Records }) =>
      batchItemFailures(
        ...Records.filter((r) => detailTypeOf(r).startsWith('License')).map((r) => r.messageId),
      ),
    );
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(await sim.idle(5_000)).toBe(true);
    const counts = receiver
      .records()
      .filter((r) => detailTypeOf(r).startsWith('License'))
      .map((r) => r.attributes.ApproximateReceiveCount);
    expect(counts).toEqual(['1', '2', '3']);

    const dlq = (await (await fetch(`${sim.url}/_sim/aws/dlq`)).json()) as {
      queueArn: string;
      messages: Array<{ id: string; eventType: string; state: string; receiveCount: number }>;
    };
    expect(dlq.queueArn).toBe(`arn:aws:sqs:us-east-1:${SELLER}:marketplace-notifications-dlq`);
    expect(dlq.messages).toEqual([
      expect.objectContaining({
        eventType: 'License Updated - Manufacturer',
        state: 'failed',
        receiveCount: 3,
      }),
    ]);

    // Redriven by hand once the function is fixed.
    receiver.respond(() => batchItemFailures());
    const redelivered = await fetch(
      `${sim.url}/_sim/aws/messages/${dlq.messages[0]!.id}/redeliver`,
      {
        method: 'POST',
      },
    );
    expect(await redelivered.json()).toMatchObject({ state: 'delivered' });
    expect(sim.aws.deadLetters()).toEqual([]);
    expect(receiver.records().at(-1)!.attributes.ApproximateReceiveCount).toBe('4');
  });

  it('holds messages in manual mode until redelivered, in any order', async () => {
    sim.aws.configure({ deliver: 'manual' });
    const bought = await sim.aws.subscribe({ productCode: PRODUCT });
    await sim.aws.act(bought.licenseArn, 'unsubscribe');
    expect(receiver.received).toEqual([]);
    const held = sim.aws.messages();
    expect(held.map((m) => m.state)).toEqual(['held', 'held', 'held']);
    for (const message of [...held].reverse()) await sim.aws.redeliver(message.id);
    expect(receiver.records().map(detailTypeOf)).toEqual([
      'Purchase Agreement Ended - Proposer',
      'License Updated - Manufacturer',
      'Purchase Agreement Created - Proposer',
    ]);
    // Delivered twice: a duplicate the function must shrug off.
    await sim.aws.redeliver(held[0]!.id);
    expect(receiver.records().at(-1)!.messageId).toBe(held[0]!.id);
  });

  it('keeps messages in the queue while no endpoint is set, and delivers them once one is', async () => {
    sim.aws.configure({ sqsEndpoint: null });
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(sim.aws.messages().map((m) => m.state)).toEqual(['recorded', 'recorded']);
    const redeliver = await fetch(
      `${sim.url}/_sim/aws/messages/${sim.aws.messages()[0]!.id}/redeliver`,
      {
        method: 'POST',
      },
    );
    expect(redeliver.status).toBe(409);
    const configured = await fetch(`${sim.url}/_sim/aws/config`, {
      method: 'POST',
      body: JSON.stringify({ sqsEndpoint: receiver.url }),
    });
    expect(await configured.json()).toMatchObject({ sqsEndpoint: receiver.url, deliver: 'sync' });
    expect(await sim.idle(5_000)).toBe(true);
    expect(receiver.records()).toHaveLength(2);
  });

  it('delivers in the background in async mode', async () => {
    sim.aws.configure({ deliver: 'async' });
    receiver.respond(
      () => new Promise((resolve) => setTimeout(() => resolve(batchItemFailures()), 50)),
    );
    await sim.aws.subscribe({ productCode: PRODUCT });
    expect(receiver.received.length).toBeLessThanOrEqual(1);
    expect(await sim.idle(5_000)).toBe(true);
    expect(receiver.records()).toHaveLength(2);
  });

  it('lists AWS messages at GET /_sim/messages with their attempts', async () => {
    await sim.aws.subscribe({ productCode: PRODUCT });
    const listed = (await (
      await fetch(
        `${sim.url}/_sim/messages?cloud=aws&eventType=License%20Updated%20-%20Manufacturer`,
      )
    ).json()) as { messages: Array<Record<string, unknown>> };
    expect(listed.messages).toEqual([
      expect.objectContaining({
        cloud: 'aws',
        channel: 'sqs:eventbridge',
        eventType: 'License Updated - Manufacturer',
        state: 'delivered',
        endpoint: receiver.url,
        payload: expect.objectContaining({ source: 'aws.agreement-marketplace' }),
        envelope: expect.objectContaining({ eventSource: 'aws:sqs' }),
        attempts: [expect.objectContaining({ number: 1, status: 200 })],
      }),
    ]);
  });
});
