import type { Simulator } from '../server';
import { createSimulator } from '../server';
import type { SqsReceiver } from './testing/sqs-receiver';
import { createSqsReceiver } from './testing/sqs-receiver';

const PRODUCT = 'buyerproduct0000000000001';

interface Sent {
  readonly type: string;
  readonly body: Record<string, unknown>;
}

describe('AWS buyer actions', () => {
  let sim: Simulator;
  let receiver: SqsReceiver;

  /** What reached the function: the SNS message or the EventBridge event, by its type. */
  const sent = (): Sent[] =>
    receiver.records().map((record) => {
      const body = JSON.parse(record.body) as Record<string, unknown>;
      if (typeof body.Message === 'string') {
        const message = JSON.parse(body.Message) as Record<string, unknown>;
        return { type: String(message.action), body: message };
      }
      return { type: String(body['detail-type']), body };
    });
  const types = () => sent().map((entry) => entry.type);
  const post = async (path: string, body?: unknown) => {
    const response = await fetch(`${sim.url}${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    receiver = await createSqsReceiver();
    sim = await createSimulator({
      seed: 'aws-buyer',
      aws: {
        products: [
          { code: PRODUCT, contractDimensions: ['seats', 'tier'], usageDimensions: ['requests'] },
        ],
        sqs: { endpoint: receiver.url, deliver: 'sync' },
        unsubscribeCompleteAfterMs: null,
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.close();
  });
  beforeEach(() => {
    sim.reset();
    receiver.received.length = 0;
  });

  describe('over HTTP', () => {
    it('subscribes with the minimal body and answers 201 with the buyer’s identifiers', async () => {
      const { status, body } = await post('/_sim/aws/subscribe', { productCode: PRODUCT });
      expect(status).toBe(201);
      expect(body).toEqual({
        productCode: PRODUCT,
        registrationToken: expect.any(String),
        customerIdentifier: null,
        customerAWSAccountId: expect.stringMatching(/^\d{12}$/),
        licenseArn: expect.stringMatching(/^arn:aws:license-manager::/),
        agreementId: expect.stringMatching(/^agmt-[a-z0-9]{25}$/),
        offerId: expect.any(String),
        status: 'active',
        messageIds: [expect.any(String), expect.any(String)],
      });
      expect(types()).toEqual([
        'Purchase Agreement Created - Proposer',
        'License Updated - Manufacturer',
      ]);
    });

    it('acts on a license named by its URL-encoded ARN or its l- id', async () => {
      const bought = (
        await post('/_sim/aws/subscribe', { productCode: PRODUCT, contract: { seats: 1 } })
      ).body as { licenseArn: string };
      const encoded = encodeURIComponent(bought.licenseArn);
      const changed = await post(`/_sim/aws/licenses/${encoded}/update-contract`, {
        contract: { seats: 9 },
      });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({
        license: { licenseArn: bought.licenseArn, contract: { seats: 9 }, status: 'active' },
        messageIds: [expect.any(String), expect.any(String)],
      });
      const id = bought.licenseArn.split(':license:')[1]!;
      expect((await post(`/_sim/aws/licenses/${id}/unsubscribe`)).body).toMatchObject({
        license: { status: 'unsubscribe-pending' },
      });
      const shown = await (await fetch(`${sim.url}/_sim/aws/licenses/${encoded}`)).json();
      expect(shown).toMatchObject({
        status: 'unsubscribe-pending',
        entitlements: [expect.anything()],
      });
      const token = await post(`/_sim/aws/licenses/${id}/registration-token`, { ttlSeconds: 60 });
      expect(token.body).toEqual({
        licenseArn: bought.licenseArn,
        registrationToken: expect.any(String),
      });
    });

    it.each([
      ['an unknown field', 400, '/_sim/aws/subscribe', { productCode: PRODUCT, colour: 'red' }],
      [
        'a contract dimension the product lacks',
        400,
        '/_sim/aws/subscribe',
        { productCode: PRODUCT, contract: { cpus: 2 } },
      ],
      ['a bad account id', 400, '/_sim/aws/subscribe', { customerAWSAccountId: '12' }],
      ['SNS for a new product', 400, '/_sim/aws/subscribe', { style: 'sns', legacy: false }],
      ['an unknown product', 404, '/_sim/aws/subscribe', { productCode: 'nope' }],
      ['an unknown license', 404, '/_sim/aws/licenses/l-0000/unsubscribe', undefined],
    ])('answers %s with %i', async (_, status, path, body) => {
      const answer = await post(path, body);
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject({ error: { message: expect.any(String) } });
    });

    it('answers 404 for an unknown action and 409 for one the state forbids', async () => {
      const { licenseArn } = await sim.aws.subscribe({ productCode: PRODUCT });
      const base = `/_sim/aws/licenses/${encodeURIComponent(licenseArn)}`;
      expect((await post(`${base}/renew`)).status).toBe(404);
      expect((await post(`${base}/confirm`)).status).toBe(409);
      expect((await post(`${base}/unsubscribe-complete`)).status).toBe(409);
      await post(`${base}/unsubscribe`);
      expect((await post(`${base}/unsubscribe`)).status).toBe(409);
      expect((await post(`${base}/update-contract`, { contract: { seats: 1 } })).status).toBe(200);
      await post(`${base}/unsubscribe-complete`);
      expect((await post(`${base}/update-contract`, { contract: { seats: 2 } })).status).toBe(409);
    });

    it('shows the state and the configuration', async () => {
      await sim.aws.subscribe({ productCode: PRODUCT });
      const state = (await (await fetch(`${sim.url}/_sim/aws/state`)).json()) as Record<
        string,
        unknown
      >;
      expect(state).toMatchObject({
        sellerAccountId: '111122223333',
        region: 'us-east-1',
        products: [
          { code: PRODUCT, contractDimensions: ['seats', 'tier'], usageDimensions: ['requests'] },
        ],
        licenses: [expect.objectContaining({ productCode: PRODUCT, status: 'active' })],
      });
      const config = await (await fetch(`${sim.url}/_sim/aws/config`)).json();
      expect(config).toMatchObject({
        deliver: 'sync',
        snsSignatureVersion: '1',
        emptyPages: 'leading',
      });
      expect((await post('/_sim/aws/config', { batchSize: 0 })).status).toBe(400);
    });
  });

  describe('EventBridge lifecycle', () => {
    it('ends an agreement, then deprovisions its license', async () => {
      const { licenseArn } = await sim.aws.subscribe({ productCode: PRODUCT });
      await sim.aws.act(licenseArn, 'unsubscribe');
      await sim.aws.act(licenseArn, 'unsubscribe-complete');
      expect(types()).toEqual([
        'Purchase Agreement Created - Proposer',
        'License Updated - Manufacturer',
        'Purchase Agreement Ended - Proposer',
        'License Deprovisioned - Manufacturer',
      ]);
      expect(sent()[2]!.body.detail).toMatchObject({ agreement: { status: 'CANCELLED' } });
      expect(sent()[3]!.body.detail).toMatchObject({
        license: { arn: licenseArn.replace(/^arn:/, '') },
      });
    });

    it('amends the agreement and updates the license on a contract change', async () => {
      const { licenseArn } = await sim.aws.subscribe({
        productCode: PRODUCT,
        contract: { seats: 2 },
      });
      await sim.aws.act(licenseArn, 'update-contract', { contract: { tier: 'gold' } });
      expect(types().slice(2)).toEqual([
        'Purchase Agreement Amended - Proposer',
        'License Updated - Manufacturer',
      ]);
      expect(sent()[2]!.body.detail).toMatchObject({ agreement: { intent: 'AMEND' } });
      expect(sim.aws.license(licenseArn)!.contract).toEqual({ seats: 2, tier: 'gold' });
    });

    it('sends Manufacturer agreement events for a channel partner’s offer', async () => {
      await sim.aws.subscribe({ productCode: PRODUCT, cppo: true, offerId: 'offer-cppo000000001' });
      expect(types()).toEqual([
        'Purchase Agreement Created - Manufacturer',
        'License Updated - Manufacturer',
      ]);
      const detail = sent()[0]!.body.detail as Record<string, { accountId?: string; id?: string }>;
      expect(detail.proposer!.accountId).not.toBe('111122223333');
      expect(detail.resaleAuthorization!.id).toEqual(expect.stringMatching(/^resaleauthz-/));
      expect(detail.offer!.id).toBe('offer-cppo000000001');
    });

    it('sends nothing until a pending subscription is confirmed, and nothing if it fails', async () => {
      const pending = await sim.aws.subscribe({ productCode: PRODUCT, pending: true });
      expect(pending).toMatchObject({ status: 'pending', messageIds: [] });
      await sim.aws.act(pending.licenseArn, 'confirm');
      expect(types()).toHaveLength(2);
      const failing = await sim.aws.subscribe({ productCode: PRODUCT, pending: true });
      expect((await sim.aws.act(failing.licenseArn, 'fail')).messageIds).toEqual([]);
      expect(sim.aws.license(failing.licenseArn)!.status).toBe('failed');
    });

    it('creates a second agreement and license for the same account (concurrent agreements)', async () => {
      const first = await sim.aws.subscribe({ productCode: PRODUCT });
      const second = await sim.aws.subscribe({
        productCode: PRODUCT,
        customerAWSAccountId: first.customerAWSAccountId,
      });
      expect(second.licenseArn).not.toBe(first.licenseArn);
      expect(second.agreementId).not.toBe(first.agreementId);
      expect(sim.aws.licenses().map((l) => l.customerAWSAccountId)).toEqual([
        first.customerAWSAccountId,
        first.customerAWSAccountId,
      ]);
    });
  });

  describe('SNS lifecycle (legacy products)', () => {
    it('sends unsubscribe-pending, then unsubscribe-success', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
      await sim.aws.act(bought.licenseArn, 'unsubscribe');
      await sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
      expect(types()).toEqual(['subscribe-success', 'unsubscribe-pending', 'unsubscribe-success']);
      expect(sent()[1]!.body).toEqual({
        action: 'unsubscribe-pending',
        'customer-identifier': bought.customerIdentifier,
        'product-code': PRODUCT,
        isFreeTrialTermPresent: 'false',
      });
    });

    it('sends subscribe-fail with the offer', async () => {
      const bought = await sim.aws.subscribe({
        productCode: PRODUCT,
        style: 'sns',
        pending: true,
        offerId: 'offer-private000001',
      });
      await sim.aws.act(bought.licenseArn, 'fail');
      expect(sent()).toEqual([
        {
          type: 'subscribe-fail',
          body: expect.objectContaining({ 'offer-identifier': 'offer-private000001' }),
        },
      ]);
    });

    it('turns a resubscription before unsubscribe-success into subscribe-success, same customer', async () => {
      const bought = await sim.aws.subscribe({ productCode: PRODUCT, legacy: true });
      const again = {
        productCode: PRODUCT,
        legacy: true,
        customerAWSAccountId: bought.customerAWSAccountId,
      };
      await expect(sim.aws.subscribe(again)).rejects.toMatchObject({ status: 409 });
      await sim.aws.act(bought.licenseArn, 'unsubscribe');
      const back = await sim.aws.subscribe(again);
      expect(back).toMatchObject({
        licenseArn: bought.licenseArn,
        customerIdentifier: bought.customerIdentifier,
        status: 'active',
      });
      expect(types()).toEqual(['subscribe-success', 'unsubscribe-pending', 'subscribe-success']);

      await sim.aws.act(bought.licenseArn, 'unsubscribe');
      await sim.aws.act(bought.licenseArn, 'unsubscribe-complete');
      const later = await sim.aws.subscribe(again);
      expect(later.licenseArn).not.toBe(bought.licenseArn);
      expect(later.customerIdentifier).toBe(bought.customerIdentifier);
    });
  });

  it('completes an unsubscription on its own after the configured time', async () => {
    const own = await createSimulator({
      seed: 'aws-auto-complete',
      aws: { sqs: { endpoint: receiver.url, deliver: 'sync' }, unsubscribeCompleteAfterMs: 30 },
    });
    try {
      const bought = await own.aws.subscribe({ style: 'sns' });
      await own.aws.act(bought.licenseArn, 'unsubscribe');
      // The timer is real time and not awaited by idle(): wait for its effect.
      for (let waited = 0; waited < 5_000; waited += 20) {
        if (own.aws.license(bought.licenseArn)!.status === 'unsubscribed') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await own.idle(5_000)).toBe(true);
      expect(own.aws.license(bought.licenseArn)!.status).toBe('unsubscribed');
      expect(types()).toEqual(['subscribe-success', 'unsubscribe-pending', 'unsubscribe-success']);
    } finally {
      await own.stop();
    }
  });
});
