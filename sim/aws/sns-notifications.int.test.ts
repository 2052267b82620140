import { X509Certificate, createVerify } from 'node:crypto';
import type { Simulator } from '../server';
import { createSimulator } from '../server';
import type { SqsReceiver } from './testing/sqs-receiver';
import { createSqsReceiver } from './testing/sqs-receiver';

const PRODUCT = 'snsproduct000000000000001';

interface SnsBody {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL: string;
}

/** AWS's recipe, as a vendor's function would write it. */
const stringToSign = (body: SnsBody): string =>
  (body.Type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
  )
    .filter((key) => (body as unknown as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${key}\n${(body as unknown as Record<string, string>)[key]}\n`)
    .join('');

const verify = async (body: SnsBody): Promise<boolean> => {
  const pem = await (await fetch(body.SigningCertURL)).text();
  const certificate = new X509Certificate(pem);
  const verifier = createVerify(body.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  verifier.update(stringToSign(body), 'utf8');
  return verifier.verify(certificate.publicKey, body.Signature, 'base64');
};

describe('SNS notifications on the SQS queue', () => {
  let sim: Simulator;
  let receiver: SqsReceiver;
  const bodies = (): SnsBody[] =>
    receiver.records().map((record) => JSON.parse(record.body) as SnsBody);

  beforeAll(async () => {
    receiver = await createSqsReceiver();
    sim = await createSimulator({
      seed: 'sns',
      aws: {
        products: [{ code: PRODUCT, offerId: 'offer-snspublic00001' }],
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
    sim.aws.configure({ snsSignatureVersion: '1' });
  });

  it('wraps subscribe-success in a signed envelope on the subscription topic', async () => {
    const bought = await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns', freeTrial: true });
    expect(bought.customerIdentifier).toEqual(expect.any(String));
    const [record] = receiver.records();
    // SNS's own formatting: indented, a space before each colon.
    expect(record!.body).toMatch(/^\{\n {2}"Type" : "Notification",\n {2}"MessageId" : "/);
    const body = JSON.parse(record!.body) as SnsBody;
    expect(Object.keys(body)).toEqual([
      'Type',
      'MessageId',
      'TopicArn',
      'Message',
      'Timestamp',
      'SignatureVersion',
      'Signature',
      'SigningCertURL',
      'UnsubscribeURL',
    ]);
    expect(body).toMatchObject({
      Type: 'Notification',
      MessageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      TopicArn: `arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-${PRODUCT}`,
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      SignatureVersion: '1',
      Signature: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      SigningCertURL: expect.stringMatching(
        new RegExp(`^${sim.url}/SimpleNotificationService-[0-9a-f]{32}\\.pem$`),
      ),
      UnsubscribeURL: expect.stringContaining(
        `${sim.url}/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-${PRODUCT}:`,
      ),
    });
    // The message is a JSON string, every value a string.
    expect(typeof body.Message).toBe('string');
    expect(JSON.parse(body.Message)).toEqual({
      action: 'subscribe-success',
      'customer-identifier': bought.customerIdentifier,
      'product-code': PRODUCT,
      'offer-identifier': 'offer-snspublic00001',
      isFreeTrialTermPresent: 'true',
    });
    expect(await verify(body)).toBe(true);
  });

  it('signs with SHA256 for SignatureVersion 2, and a tampered message fails either way', async () => {
    await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    sim.aws.configure({ snsSignatureVersion: '2' });
    await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    const [v1, v2] = bodies();
    expect(v1!.SignatureVersion).toBe('1');
    expect(v2!.SignatureVersion).toBe('2');
    expect(await verify(v1!)).toBe(true);
    expect(await verify(v2!)).toBe(true);
    // A version-2 signature read as version 1 does not verify.
    expect(await verify({ ...v2!, SignatureVersion: '1' })).toBe(false);

    for (const body of [v1!, v2!]) {
      const message = JSON.parse(body.Message) as Record<string, string>;
      const forged = JSON.stringify({ ...message, 'customer-identifier': 'X01EXAMPLEX' });
      expect(await verify({ ...body, Message: forged })).toBe(false);
      expect(await verify({ ...body, TopicArn: `${body.TopicArn}x` })).toBe(false);
    }
  });

  it('serves the certificate as PEM: sns.amazonaws.com, valid now, the signer’s key', async () => {
    await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    const [body] = bodies();
    const response = await fetch(body!.SigningCertURL);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-pem-file');
    const certificate = new X509Certificate(await response.text());
    expect(certificate.subject).toBe('CN=sns.amazonaws.com');
    expect(Date.parse(certificate.validFrom)).toBeLessThan(Date.now());
    expect(Date.parse(certificate.validTo)).toBeGreaterThan(Date.now());
    expect(certificate.publicKey.export({ format: 'jwk' })).toEqual(
      sim.aws.snsSigningKey().publicKey.export({ format: 'jwk' }),
    );
    const unknown = await fetch(`${sim.url}/SimpleNotificationService-${'0'.repeat(32)}.pem`);
    expect(unknown.status).toBe(404);
  });

  it('signs with a new key after a rotation and keeps serving the old certificate', async () => {
    await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    const rotated = await (
      await fetch(`${sim.url}/_sim/aws/keys/rotate`, { method: 'POST' })
    ).json();
    await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    const [before, after] = bodies();
    expect(after!.SigningCertURL).toBe((rotated as { signingCertURL: string }).signingCertURL);
    expect(after!.SigningCertURL).not.toBe(before!.SigningCertURL);
    expect(await verify(before!)).toBe(true);
    expect(await verify(after!)).toBe(true);
  });

  it('sends entitlement-updated on the entitlement topic for contracts', async () => {
    const bought = await sim.aws.subscribe({
      productCode: PRODUCT,
      style: 'sns',
      contract: { seats: 5 },
    });
    await sim.aws.act(bought.licenseArn, 'update-contract', { contract: { seats: 8 } });
    const sent = bodies().map((body) => ({
      topic: body.TopicArn.split(':').pop(),
      message: JSON.parse(body.Message) as Record<string, string>,
    }));
    expect(sent).toEqual([
      {
        topic: `aws-mp-subscription-notification-${PRODUCT}`,
        message: expect.objectContaining({ action: 'subscribe-success' }),
      },
      {
        topic: `aws-mp-entitlement-notification-${PRODUCT}`,
        message: {
          action: 'entitlement-updated',
          'customer-identifier': bought.customerIdentifier,
          'product-code': PRODUCT,
        },
      },
      {
        topic: `aws-mp-entitlement-notification-${PRODUCT}`,
        message: expect.objectContaining({ action: 'entitlement-updated' }),
      },
    ]);
    for (const body of bodies()) expect(await verify(body)).toBe(true);
  });

  it('puts the bare message in the body with raw message delivery', async () => {
    const bought = await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns-raw' });
    const [record] = receiver.records();
    expect(JSON.parse(record!.body)).toEqual({
      action: 'subscribe-success',
      'customer-identifier': bought.customerIdentifier,
      'product-code': PRODUCT,
      'offer-identifier': 'offer-snspublic00001',
      isFreeTrialTermPresent: 'false',
    });
    expect(sim.aws.messages()[0]).toMatchObject({ channel: 'sqs:sns-raw' });
  });

  it('stops delivering a topic once its UnsubscribeURL was visited', async () => {
    await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    const [body] = bodies();
    const answer = await fetch(body!.UnsubscribeURL);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('<UnsubscribeResponse');
    const bought = await sim.aws.subscribe({ productCode: PRODUCT, style: 'sns' });
    expect(bought.messageIds).toEqual([]);
    expect(receiver.records()).toHaveLength(1);
    const bogus = await fetch(`${sim.url}/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:x`);
    expect(bogus.status).toBe(400);
  });

  it('sends a signed SubscriptionConfirmation whose SubscribeURL confirms the subscription', async () => {
    const answer = await fetch(`${sim.url}/_sim/aws/sns/subscription-confirmation`, {
      method: 'POST',
      body: JSON.stringify({ productCode: PRODUCT }),
    });
    expect(answer.status).toBe(201);
    const body = JSON.parse(receiver.records()[0]!.body) as SnsBody & {
      Token: string;
      SubscribeURL: string;
    };
    expect(body).toMatchObject({
      Type: 'SubscriptionConfirmation',
      TopicArn: `arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-${PRODUCT}`,
      Token: expect.stringMatching(/^[0-9a-f]{256}$/),
      Message: expect.stringContaining('To confirm the subscription, visit the SubscribeURL'),
    });
    expect(await verify(body)).toBe(true);
    const confirmed = await fetch(body.SubscribeURL);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain(`<SubscriptionArn>${body.TopicArn}:`);
    const forged = await fetch(body.SubscribeURL.replace(/Token=[0-9a-f]/, 'Token=x'));
    expect(forged.status).toBe(400);
  });
});
