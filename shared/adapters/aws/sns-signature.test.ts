import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createSelfSignedCertificate } from '../../../sim/gcp/self-signed-certificate';
import { MarketplaceApiError, UnauthorizedError, ValidationError } from '../../domain/errors';
import type { SnsEnvelope } from './sns-envelope';
import { stringToSign } from './sns-envelope';
import { createSnsVerifier } from './sns-signature';
import { parseSqsRecord } from './sqs-record';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const DAY_MS = 24 * 60 * 60 * 1000;
const clock = { now: () => NOW };
const TOPIC = 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-n0123EXAMPLE';
const CERT_URL =
  'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';
const MESSAGE = JSON.stringify({
  action: 'subscribe-success',
  'customer-identifier': 'X01EXAMPLEX',
  'product-code': 'n0123EXAMPLE',
  isFreeTrialTermPresent: 'false',
});

const keys = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const signer = keys();
const certificateFor = (
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
  validity: { notBefore?: number; notAfter?: number } = {},
) =>
  createSelfSignedCertificate({
    ...pair,
    commonName,
    serial: randomBytes(8),
    notBefore: new Date(validity.notBefore ?? NOW - DAY_MS),
    notAfter: new Date(validity.notAfter ?? NOW + 365 * DAY_MS),
  });
const SNS_PEM = certificateFor(signer, 'sns.amazonaws.com');

/**
 * Signs as SNS does, built here from the documentation rather than with the code under test:
 * `Key\nValue\n` for the keys present, in this order.
 */
const signed = (
  fields: Partial<SnsEnvelope> = {},
  options: { version?: '1' | '2'; privateKey?: KeyObject; digest?: string } = {},
): SnsEnvelope => {
  const version = options.version ?? '1';
  const envelope = {
    Type: 'Notification' as const,
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: TOPIC,
    Message: MESSAGE,
    Timestamp: '2026-03-10T11:59:58.123Z',
    SignatureVersion: version,
    SigningCertURL: CERT_URL,
    ...fields,
  };
  const order =
    envelope.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = order
    .filter((key) => (envelope as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${key}\n${(envelope as Record<string, unknown>)[key] as string}\n`)
    .join('');
  const digest = options.digest ?? (version === '1' ? 'sha1' : 'sha256');
  const signature = sign(digest, Buffer.from(text), options.privateKey ?? signer.privateKey);
  return { Signature: signature.toString('base64'), ...envelope };
};

/** A fetch that serves `pem` for any URL and remembers what it was asked. */
const fakeFetch = (answer: () => Response | Promise<Response> = () => new Response(SNS_PEM)) => {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const doFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), init });
    return answer();
  }) as typeof fetch;
  return { fetch: doFetch, calls };
};

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

describe('SNS string to sign', () => {
  it('is Key\\nValue\\n for Message, MessageId, Subject, Timestamp, TopicArn, Type', () => {
    expect(
      stringToSign({
        Type: 'Notification',
        MessageId: 'id',
        TopicArn: 'topic',
        Subject: 'subject',
        Message: 'm',
        Timestamp: 't',
        SignatureVersion: '1',
        Signature: 's',
        SigningCertURL: 'u',
      }),
    ).toBe(
      'Message\nm\nMessageId\nid\nSubject\nsubject\nTimestamp\nt\nTopicArn\ntopic\nType\nNotification\n',
    );
  });

  it('leaves Subject out when absent, and signs SubscribeURL and Token for confirmations', () => {
    expect(
      stringToSign({
        Type: 'SubscriptionConfirmation',
        MessageId: 'id',
        TopicArn: 'topic',
        Message: 'm',
        Timestamp: 't',
        SignatureVersion: '1',
        Signature: 's',
        SigningCertURL: 'u',
        SubscribeURL: 'sub',
        Token: 'tok',
      }),
    ).toBe(
      'Message\nm\nMessageId\nid\nSubscribeURL\nsub\nTimestamp\nt\nToken\ntok\nTopicArn\ntopic\nType\nSubscriptionConfirmation\n',
    );
  });
});

describe('SNS signature verifier', () => {
  it.each(['1', '2'] as const)('accepts SignatureVersion %s from the SNS host', async (version) => {
    const { fetch, calls } = fakeFetch();
    const verify = createSnsVerifier({ topicArns: [TOPIC], fetch, clock });
    await expect(verify(signed({}, { version }))).resolves.toBeUndefined();
    expect(calls).toEqual([
      { url: CERT_URL, init: expect.objectContaining({ redirect: 'error' }) },
    ]);
  });

  it('accepts a signed Subject, and rejects the message once the Subject is removed', async () => {
    const verify = createSnsVerifier({ topicArns: [TOPIC], ...fakeFetch(), clock });
    const envelope = signed({ Subject: 'AWS Marketplace' });
    await expect(verify(envelope)).resolves.toBeUndefined();
    const { Subject: _removed, ...withoutSubject } = envelope;
    expect(await rejection(verify(withoutSubject))).toBeInstanceOf(UnauthorizedError);
  });

  it('accepts a signed SubscriptionConfirmation', async () => {
    const verify = createSnsVerifier({ topicArns: [TOPIC], ...fakeFetch(), clock });
    const envelope = signed({
      Type: 'SubscriptionConfirmation',
      Message: 'You have chosen to subscribe to the topic',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336',
      Token: '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a74',
    });
    await expect(verify(envelope)).resolves.toBeUndefined();
  });

  it('verifies the envelope the SQS parser keeps, with its exact Message string', async () => {
    const verify = createSnsVerifier({ topicArns: [TOPIC], ...fakeFetch(), clock });
    const envelope = signed({
      Message:
        '{ "action" : "subscribe-success", "customer-identifier" : "C", "product-code" : "P" }',
    });
    const notification = parseSqsRecord({
      messageId: 'm-1',
      body: JSON.stringify({
        ...envelope,
        UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?x',
      }),
    });
    if (notification.kind !== 'sns') throw new Error('expected an SNS notification');
    await expect(verify(notification.envelope)).resolves.toBeUndefined();
  });

  it.each<[string, (envelope: SnsEnvelope) => SnsEnvelope, RegExp]>([
    [
      'a tampered Message',
      (e) => ({ ...e, Message: e.Message.replace('false', 'true') }),
      /does not match/,
    ],
    ['a tampered MessageId', (e) => ({ ...e, MessageId: 'another' }), /does not match/],
    [
      'a tampered Timestamp',
      (e) => ({ ...e, Timestamp: '2026-03-10T12:00:00.000Z' }),
      /does not match/,
    ],
    ['an added Subject', (e) => ({ ...e, Subject: 'injected' }), /does not match/],
    [
      'a Type changed to a confirmation',
      (e) => ({ ...e, Type: 'UnsubscribeConfirmation', SubscribeURL: 'https://x', Token: 't' }),
      /does not match/,
    ],
    [
      'version 2 claimed for a SHA1 signature',
      (e) => ({ ...e, SignatureVersion: '2' }),
      /does not match/,
    ],
    ['an unknown SignatureVersion', (e) => ({ ...e, SignatureVersion: '3' }), /SignatureVersion 3/],
    [
      'a SignatureVersion named like an Object key',
      (e) => ({ ...e, SignatureVersion: 'valueOf' }),
      /SignatureVersion valueOf/,
    ],
    ['a Signature that is not base64', (e) => ({ ...e, Signature: 'not*base64' }), /not base64/],
    [
      'a missing Signature',
      (e) => ({ ...e, Signature: undefined as never }),
      /malformed \(Signature\)/,
    ],
    [
      'a foreign TopicArn',
      (e) => ({ ...e, TopicArn: 'arn:aws:sns:us-east-1:666666666666:evil' }),
      /unexpected topic/,
    ],
  ])('rejects %s', async (_, change, reason) => {
    const verify = createSnsVerifier({ topicArns: [TOPIC], ...fakeFetch(), clock });
    const error = await rejection(verify(change(signed())));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toMatch(reason);
  });

  it('rejects a signature made with another key', async () => {
    const verify = createSnsVerifier({ topicArns: [TOPIC], ...fakeFetch(), clock });
    const forged = signed({}, { privateKey: keys().privateKey });
    expect((await rejection(verify(forged))).message).toMatch(/does not match/);
  });

  it('does not fetch anything for a foreign topic', async () => {
    const { fetch, calls } = fakeFetch();
    const verify = createSnsVerifier({ topicArns: [TOPIC], fetch, clock });
    await rejection(verify(signed({ TopicArn: 'arn:aws:sns:us-east-1:666666666666:evil' })));
    expect(calls).toHaveLength(0);
  });

  it.each([
    ['over http', 'http://sns.us-east-1.amazonaws.com/x.pem'],
    [
      'on a host that only starts like SNS',
      'https://sns.us-east-1.amazonaws.com.evil.example/x.pem',
    ],
    [
      'on another host with SNS in the path',
      'https://evil.example/sns.us-east-1.amazonaws.com/x.pem',
    ],
    ['behind userinfo', 'https://sns.us-east-1.amazonaws.com@evil.example/x.pem'],
    ['with credentials', 'https://user:pw@sns.us-east-1.amazonaws.com/x.pem'],
    ['on another port', 'https://sns.us-east-1.amazonaws.com:8443/x.pem'],
    ['in another region than the topic', 'https://sns.eu-west-1.amazonaws.com/x.pem'],
    ['on a look-alike host', 'https://xsns.us-east-1.amazonaws.com/x.pem'],
    ['on the FQDN with a trailing dot', 'https://sns.us-east-1.amazonaws.com./x.pem'],
    ['that is not a .pem', 'https://sns.us-east-1.amazonaws.com/x.txt'],
    ['with a query', 'https://sns.us-east-1.amazonaws.com/x.pem?redirect=evil'],
    ['with .pem only in the fragment', 'https://sns.us-east-1.amazonaws.com/x.txt#.pem'],
    ['on the local simulator without the override', 'http://127.0.0.1:4010/x.pem'],
    ['as a file', 'file:///etc/ssl/x.pem'],
    ['that is not a URL', 'sns.us-east-1.amazonaws.com/x.pem'],
  ])('rejects a certificate URL %s, fetching nothing', async (_, url) => {
    const { fetch, calls } = fakeFetch();
    const verify = createSnsVerifier({ topicArns: [TOPIC], fetch, clock });
    const error = await rejection(verify(signed({ SigningCertURL: url })));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toMatch(/SigningCertURL/);
    expect(calls).toHaveLength(0);
  });

  it('accepts the default https port and upper-case letters in the host', async () => {
    const verify = createSnsVerifier({ topicArns: [TOPIC], ...fakeFetch(), clock });
    const url = 'https://SNS.us-east-1.amazonaws.com:443/SimpleNotificationService-1.pem';
    await expect(verify(signed({ SigningCertURL: url }))).resolves.toBeUndefined();
  });

  it('takes the SNS host of the partition: amazonaws.com.cn in China', async () => {
    const topic = 'arn:aws-cn:sns:cn-north-1:123456789012:topic';
    const verify = createSnsVerifier({ topicArns: [topic], ...fakeFetch(), clock });
    const envelope = signed({
      TopicArn: topic,
      SigningCertURL: 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem',
    });
    await expect(verify(envelope)).resolves.toBeUndefined();
  });

  it('rejects an allowed topic in a partition it knows no SNS host for', async () => {
    const topic = 'arn:constructor:sns:us-east-1:123456789012:topic';
    const verify = createSnsVerifier({ topicArns: [topic], ...fakeFetch(), clock });
    const error = await rejection(verify(signed({ TopicArn: topic })));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toMatch(/no SNS certificate host/);
  });

  it.each([
    ['expired', certificateFor(signer, 'sns.amazonaws.com', { notAfter: NOW - 1 }), /expired/],
    [
      'not yet valid',
      certificateFor(signer, 'sns.amazonaws.com', { notBefore: NOW + DAY_MS }),
      /not yet valid/,
    ],
    ['issued to another subject', certificateFor(signer, 'evil.example'), /not issued to SNS/],
    ['not a certificate', 'hello', /not a PEM/],
  ])('rejects a certificate that is %s', async (_, pem, reason) => {
    const verify = createSnsVerifier({
      topicArns: [TOPIC],
      ...fakeFetch(() => new Response(pem)),
      clock,
    });
    const error = await rejection(verify(signed()));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toMatch(reason);
  });

  it('accepts a certificate issued to the regional SNS host', async () => {
    const pem = certificateFor(signer, 'sns.us-east-1.amazonaws.com');
    const verify = createSnsVerifier({
      topicArns: [TOPIC],
      ...fakeFetch(() => new Response(pem)),
      clock,
    });
    await expect(verify(signed())).resolves.toBeUndefined();
  });

  it('rejects a certificate whose key is not RSA', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = certificateFor(ec, 'sns.amazonaws.com');
    const verify = createSnsVerifier({
      topicArns: [TOPIC],
      ...fakeFetch(() => new Response(pem)),
      clock,
    });
    expect((await rejection(verify(signed()))).message).toMatch(/RSA/);
  });

  it('caches a certificate by URL', async () => {
    const { fetch, calls } = fakeFetch();
    const verify = createSnsVerifier({ topicArns: [TOPIC], fetch, clock });
    await verify(signed());
    await verify(signed({ MessageId: 'second' }));
    await Promise.all([
      verify(signed({ MessageId: 'third' })),
      verify(signed({ MessageId: 'fourth' })),
    ]);
    expect(calls).toHaveLength(1);
    await verify(signed({ SigningCertURL: CERT_URL.replace('.pem', '-2.pem') }));
    expect(calls).toHaveLength(2);
  });

  it('rejects a certificate answered with 404, not retrying', async () => {
    const verify = createSnsVerifier({
      topicArns: [TOPIC],
      ...fakeFetch(() => new Response('no', { status: 404 })),
      clock,
    });
    const error = await rejection(verify(signed()));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toMatch(/HTTP 404/);
  });

  it.each([
    ['answers 503', () => new Response('busy', { status: 503 })],
    ['answers 429', () => new Response('slow down', { status: 429 })],
    ['cannot be reached', () => Promise.reject(new TypeError('fetch failed'))],
  ])('fails retryably when the certificate host %s, then fetches again', async (_, answer) => {
    let failing = true;
    const { fetch, calls } = fakeFetch(() => (failing ? answer() : new Response(SNS_PEM)));
    const verify = createSnsVerifier({ topicArns: [TOPIC], fetch, clock });
    const error = await rejection(verify(signed()));
    expect(error).toBeInstanceOf(MarketplaceApiError);
    expect((error as MarketplaceApiError).retryable).toBe(true);
    failing = false;
    await expect(verify(signed())).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
  });

  it('refuses to build without a topic or with a host that is not host[:port]', () => {
    expect(() => createSnsVerifier({ topicArns: [], clock })).toThrow(ValidationError);
    for (const certificateHost of ['http://127.0.0.1:4010', '127.0.0.1:4010/x', 'a@b', '']) {
      expect(() => createSnsVerifier({ topicArns: [TOPIC], certificateHost, clock })).toThrow(
        ValidationError,
      );
    }
  });

  describe('with the local simulator as certificate host', () => {
    const simPair = keys();
    const simPem = certificateFor(simPair, 'marketplace simulator');
    let server: Server;
    let host: string;
    const requested: string[] = [];

    beforeAll(async () => {
      server = createServer((request, response) => {
        requested.push(request.url ?? '');
        if (request.url?.endsWith('.pem')) {
          response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(simPem);
        } else {
          response.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fetches the certificate over http from that host, with any subject', async () => {
      const verify = createSnsVerifier({ topicArns: [TOPIC], certificateHost: host, clock });
      const envelope = signed(
        { SigningCertURL: `http://${host}/_sim/aws/sns/SimpleNotificationService-sim.pem` },
        { privateKey: simPair.privateKey, version: '2' },
      );
      await expect(verify(envelope)).resolves.toBeUndefined();
      expect(requested).toContain('/_sim/aws/sns/SimpleNotificationService-sim.pem');
    });

    it('trusts that host only, not the SNS host nor another port', async () => {
      const verify = createSnsVerifier({ topicArns: [TOPIC], certificateHost: host, clock });
      for (const url of [
        CERT_URL,
        `http://127.0.0.1:1/x.pem`,
        `http://localhost:${host.split(':')[1]}/x.pem`,
      ]) {
        const error = await rejection(verify(signed({ SigningCertURL: url })));
        expect(error).toBeInstanceOf(UnauthorizedError);
      }
    });

    it('still rejects a signature the simulator key did not make', async () => {
      const verify = createSnsVerifier({ topicArns: [TOPIC], certificateHost: host, clock });
      const envelope = signed({ SigningCertURL: `http://${host}/x.pem` });
      expect((await rejection(verify(envelope))).message).toMatch(/does not match/);
    });
  });
});
