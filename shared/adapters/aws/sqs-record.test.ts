import type { SQSEvent } from 'aws-lambda';
import { ValidationError } from '../../domain/errors';
import { loadFixture } from '../../test/fixtures';
import {
  KNOWN_AWS_EVENT_TYPES,
  MAX_SQS_BODY_BYTES,
  parseSqsRecord,
  toMarketplaceEventCommand,
} from './sqs-record';

const recordOf = (fixture: string) => {
  const record = loadFixture<SQSEvent>('aws', fixture).Records[0];
  if (!record) throw new Error(`${fixture} has no record`);
  return record;
};
const bodyOf = (fixture: string): Record<string, unknown> =>
  JSON.parse(recordOf(fixture).body) as Record<string, unknown>;
const record = (body: unknown, messageId = 'b5b0d1a2-0000-4000-8000-000000000001') => ({
  messageId,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const PRODUCT = 'n0123EXAMPLEXXXXXXXXXXXX';
const CUSTOMER = 'X01EXAMPLEX';
const LICENSE = 'arn:aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x';
const rawMessage = (fields: Record<string, unknown> = {}) => ({
  action: 'subscribe-success',
  'customer-identifier': CUSTOMER,
  'product-code': PRODUCT,
  ...fields,
});
const snsEnvelope = (message: unknown, fields: Record<string, unknown> = {}) => ({
  Type: 'Notification',
  MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
  TopicArn: `arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-${PRODUCT}`,
  Message: typeof message === 'string' ? message : JSON.stringify(message),
  Timestamp: '2012-05-02T00:54:06.655Z',
  SignatureVersion: '1',
  Signature: 'EXAMPLEw6JRNwm1LFQL4ICB0bnXrdB8ClRMTQFGBqwLpGbM78tJ4etTwC5zU7O3tS6tGpey3ejedNdOJ=',
  SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecf.pem',
  ...fields,
});
const licenseEvent = (detailType: string, detail: Record<string, unknown> = {}) => {
  const event = bodyOf('sqs-eventbridge-license-updated');
  return {
    ...event,
    'detail-type': detailType,
    detail: { ...(event.detail as Record<string, unknown>), ...detail },
  };
};

/** The error a parse throws, for its class and path. */
const failureOf = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a ValidationError');
};

describe('SQS records from AWS Marketplace', () => {
  it('reads an SNS envelope whose Message is a string, keeping what its signature needs', () => {
    const body = bodyOf('sqs-sns-subscribe-success');
    const notification = parseSqsRecord(recordOf('sqs-sns-subscribe-success'));
    const message = JSON.parse(body.Message as string) as unknown;
    expect(notification).toEqual({
      kind: 'sns',
      eventId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      type: 'subscribe-success',
      sentAtEpochMs: Date.parse('2012-05-02T00:54:06.655Z'),
      productCode: PRODUCT,
      customerIdentifier: CUSTOMER,
      offerId: 'offer-abcexample123',
      freeTrial: true,
      message,
      envelope: {
        Type: 'Notification',
        MessageId: body.MessageId,
        TopicArn: body.TopicArn,
        Message: body.Message,
        Timestamp: body.Timestamp,
        SignatureVersion: '1',
        Signature: body.Signature,
        SigningCertURL: body.SigningCertURL,
      },
    });
    expect(toMarketplaceEventCommand(notification)).toEqual({
      cloud: 'aws',
      eventId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      type: 'subscribe-success',
      accountId: CUSTOMER,
      entitlementId: `${CUSTOMER}:${PRODUCT}`,
      hint: 'activated',
      payload: message,
      sentAtEpochMs: Date.parse('2012-05-02T00:54:06.655Z'),
      aws: {
        productCode: PRODUCT,
        customerIdentifier: CUSTOMER,
        offerId: 'offer-abcexample123',
        freeTrial: true,
      },
    });
  });

  it('reads raw delivery, trimming the space the seller guide prints before the identifier', () => {
    const fixture = recordOf('sqs-sns-raw-unsubscribe-pending');
    const notification = parseSqsRecord(fixture);
    expect(notification).toEqual({
      kind: 'sns-raw',
      eventId: `sqs:${fixture.messageId}`,
      type: 'unsubscribe-pending',
      // Raw delivery carries no time: when SQS received it.
      sentAtEpochMs: Number(fixture.attributes!.SentTimestamp),
      productCode: PRODUCT,
      customerIdentifier: CUSTOMER,
      message: JSON.parse(fixture.body) as unknown,
      envelope: null,
    });
    expect(toMarketplaceEventCommand(notification)).toMatchObject({
      accountId: CUSTOMER,
      entitlementId: `${CUSTOMER}:${PRODUCT}`,
      hint: 'cancellation_scheduled',
    });
  });

  it("reads the AWS sample's own unsigned envelope whose Message is an object", () => {
    const fixture = recordOf('sqs-sample-entitlement-updated');
    const notification = parseSqsRecord(fixture);
    expect(notification).toMatchObject({
      kind: 'sns-raw',
      eventId: `sqs:${fixture.messageId}`,
      type: 'entitlement-updated',
      envelope: null,
    });
    expect(toMarketplaceEventCommand(notification)).toMatchObject({
      entitlementId: `${CUSTOMER}:${PRODUCT}`,
      hint: 'updated',
    });
  });

  it('reads License Updated, adding the arn: prefix the documented example lacks', () => {
    const fixture = recordOf('sqs-eventbridge-license-updated');
    const notification = parseSqsRecord(fixture);
    expect(notification).toEqual({
      kind: 'eventbridge',
      eventId: '12345678-1234-1234-1234-123456789012',
      type: 'License Updated - Manufacturer',
      sentAtEpochMs: Date.parse('2024-08-30T21:36:03Z'),
      productCode: 'aw4fgf5tyo5w2ap6fEXAMPLE',
      productId: 'prod-qtwveEXAMPLE',
      customerAWSAccountId: '845735284135',
      licenseArn: LICENSE,
      offerId: '8kkr91jo647j3qxlcjhlqce7y',
      agreementId: 'agmt-4mwg1nevbokzw95eca5797ixs',
      message: JSON.parse(fixture.body) as unknown,
      envelope: null,
    });
    expect(toMarketplaceEventCommand(notification)).toEqual({
      cloud: 'aws',
      eventId: '12345678-1234-1234-1234-123456789012',
      type: 'License Updated - Manufacturer',
      accountId: '845735284135',
      entitlementId: LICENSE,
      hint: 'activated',
      payload: JSON.parse(fixture.body) as unknown,
      sentAtEpochMs: Date.parse('2024-08-30T21:36:03Z'),
      aws: {
        productCode: 'aw4fgf5tyo5w2ap6fEXAMPLE',
        customerAWSAccountId: '845735284135',
        licenseArn: LICENSE,
        offerId: '8kkr91jo647j3qxlcjhlqce7y',
        agreementId: 'agmt-4mwg1nevbokzw95eca5797ixs',
      },
    });
  });

  it('keeps a license ARN that already starts with arn: (as real deliveries send it)', () => {
    const arn = 'arn:aws:license-manager::294406891311:license:l-9d01d15f86334a8894365cd7350556ff';
    const event = licenseEvent('License Updated - Manufacturer', { license: { arn } });
    expect(parseSqsRecord(record(event)).licenseArn).toBe(arn);
  });

  it('reads License Deprovisioned as a cancellation of the license', () => {
    const command = toMarketplaceEventCommand(
      parseSqsRecord(recordOf('sqs-eventbridge-license-deprovisioned')),
    );
    expect(command).toMatchObject({
      type: 'License Deprovisioned - Manufacturer',
      entitlementId: LICENSE,
      accountId: '845735284135',
      hint: 'cancelled',
    });
  });

  it.each([
    'sqs-eventbridge-purchase-agreement-created',
    'sqs-eventbridge-purchase-agreement-ended',
  ])('records %s for the buyer account, naming no entitlement and no hint', (fixture) => {
    const notification = parseSqsRecord(recordOf(fixture));
    expect(notification).toMatchObject({
      kind: 'eventbridge',
      productCode: null,
      customerAWSAccountId: '845735284135',
      agreementId: 'agmt-4mwg1nevbokzw95eca5797ixs',
    });
    expect(notification.licenseArn).toBeUndefined();
    expect(toMarketplaceEventCommand(notification)).toMatchObject({
      accountId: '845735284135',
      entitlementId: null,
      hint: null,
    });
  });

  it('reads an agreement event without offer or product, as real Ended events come', () => {
    const event = {
      id: '24befb37-189e-d64f-d474-4c1d6787fc8c',
      'detail-type': 'Purchase Agreement Ended - Proposer',
      source: 'aws.agreement-marketplace',
      detail: {
        acceptor: { accountId: '782858285006' },
        agreement: { id: 'agmt-2nehijlqfz9g7f2v6imgyjhmu', status: 'CANCELLED' },
        resaleAuthorization: { id: null },
      },
    };
    expect(parseSqsRecord(record(event))).toMatchObject({
      eventId: event.id,
      productCode: null,
      customerAWSAccountId: '782858285006',
    });
  });

  describe('every action, whichever way it is delivered', () => {
    const deliveries = {
      'an SNS envelope': (message: unknown) => snsEnvelope(message),
      'raw delivery': (message: unknown) => message,
      'an object Message': (message: unknown) => ({ Type: 'Notification', Message: message }),
    };
    const actions: Array<[string, string | null]> = [
      ['subscribe-success', 'activated'],
      ['subscribe-fail', 'cancelled'],
      ['unsubscribe-pending', 'cancellation_scheduled'],
      ['unsubscribe-success', 'cancelled'],
      ['entitlement-updated', 'updated'],
      ['subscribe-paused', null],
      ['constructor', null],
      ['toString', null],
    ];
    it.each(
      Object.entries(deliveries).flatMap(([delivery, wrap]) =>
        actions.map(([action, hint]) => ({ delivery, wrap, action, hint })),
      ),
    )('$action in $delivery gives hint $hint', ({ wrap, action, hint }) => {
      const command = toMarketplaceEventCommand(
        parseSqsRecord(record(wrap(rawMessage({ action })))),
      );
      expect(command).toMatchObject({
        cloud: 'aws',
        type: action,
        hint,
        accountId: CUSTOMER,
        entitlementId: `${CUSTOMER}:${PRODUCT}`,
      });
      expect(KNOWN_AWS_EVENT_TYPES.has(action)).toBe(hint !== null);
    });
  });

  it.each([
    ['License Updated - Manufacturer', 'activated'],
    ['License Updated - Proposer', 'activated'],
    ['License Deprovisioned - Manufacturer', 'cancelled'],
    ['License Deprovisioned - Proposer', 'cancelled'],
    ['License Deprovisioned \u2013 Manufacturer', 'cancelled'],
    ['License Suspended - Manufacturer', null],
    ['License Updated', null],
    ['constructor - Manufacturer', null],
  ])('the license event %s gives hint %s', (detailType, hint) => {
    const command = toMarketplaceEventCommand(parseSqsRecord(record(licenseEvent(detailType))));
    expect(command).toMatchObject({ type: detailType, hint, entitlementId: LICENSE });
  });

  it.each([
    'Created',
    'Amended',
    'Ended',
    'Ending',
    'Renewal Terms Finalized',
    'Renewal Upcoming',
    'Advisory Issued',
    'Advisory Resolved',
  ])('knows Purchase Agreement %s for both roles', (name) => {
    for (const role of ['Manufacturer', 'Proposer']) {
      const type = `Purchase Agreement ${name} - ${role}`;
      expect(KNOWN_AWS_EVENT_TYPES.has(type)).toBe(true);
      const event = {
        ...bodyOf('sqs-eventbridge-purchase-agreement-created'),
        'detail-type': type,
      };
      expect(toMarketplaceEventCommand(parseSqsRecord(record(event)))).toMatchObject({
        type,
        hint: null,
      });
    }
  });

  it('records an unknown event type of the marketplace source with no hint', () => {
    const event = {
      id: 'e-1',
      'detail-type': 'Purchase Agreement Paused - Proposer',
      source: 'aws.agreement-marketplace',
      detail: {},
    };
    expect(toMarketplaceEventCommand(parseSqsRecord(record(event)))).toEqual({
      cloud: 'aws',
      eventId: 'e-1',
      type: 'Purchase Agreement Paused - Proposer',
      accountId: null,
      entitlementId: null,
      hint: null,
      payload: event,
      aws: { productCode: null },
    });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', true],
    [' False ', false],
    [true, true],
    [null, undefined],
    [undefined, undefined],
  ])('reads isFreeTrialTermPresent %j as %j', (flag, freeTrial) => {
    const notification = parseSqsRecord(record(rawMessage({ isFreeTrialTermPresent: flag })));
    expect(notification.freeTrial).toBe(freeTrial);
  });

  it('reads customer-aws-account-id when a sender adds it, keeping a legacy account on the CustomerIdentifier', () => {
    const command = toMarketplaceEventCommand(
      parseSqsRecord(record(rawMessage({ 'customer-aws-account-id': '123456789012' }))),
    );
    // The other messages of a legacy listing name the CustomerIdentifier only.
    expect(command).toMatchObject({
      accountId: CUSTOMER,
      entitlementId: `${CUSTOMER}:${PRODUCT}`,
      aws: { customerIdentifier: CUSTOMER, customerAWSAccountId: '123456789012' },
    });
  });

  it('reads an EventBridge event delivered through SNS, keyed on the SNS MessageId', () => {
    const event = bodyOf('sqs-eventbridge-license-updated');
    const notification = parseSqsRecord(record(snsEnvelope(event)));
    expect(notification).toMatchObject({
      kind: 'sns',
      eventId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      type: 'License Updated - Manufacturer',
      licenseArn: LICENSE,
    });
  });

  it('keeps the exact Message string and a Subject in the envelope', () => {
    const message =
      '{ "action" : "subscribe-success", "customer-identifier" : "C", "product-code" : "P" }';
    const notification = parseSqsRecord(record(snsEnvelope(message, { Subject: 'hello' })));
    expect(notification.envelope).toMatchObject({ Message: message, Subject: 'hello' });
  });

  it('derives the same raw event id from the same SQS message, another from another', () => {
    const body = rawMessage();
    expect(parseSqsRecord(record(body, 'a')).eventId).toBe(
      parseSqsRecord(record(body, 'a')).eventId,
    );
    expect(parseSqsRecord(record(body, 'a')).eventId).not.toBe(
      parseSqsRecord(record(body, 'b')).eventId,
    );
  });

  it.each<[string, unknown, string]>([
    ['no record', null, 'record'],
    ['a record without messageId', { body: '{}' }, 'record.messageId'],
    ['a body that is not a string', { messageId: 'm', body: { action: 'x' } }, 'record.body'],
    ['a body that is not JSON', record('not json'), 'body'],
    ['a JSON array', record([rawMessage()]), 'body'],
    ['a JSON string', record('"subscribe-success"'), 'body'],
    ['an empty object', record({}), 'body'],
    ['a body over the limit', record({ pad: 'x'.repeat(MAX_SQS_BODY_BYTES) }), 'body'],
    ['no product-code', record(rawMessage({ 'product-code': undefined })), 'body.product-code'],
    [
      'no customer-identifier',
      record(rawMessage({ 'customer-identifier': undefined })),
      'body.customer-identifier',
    ],
    ['an empty action', record(rawMessage({ action: '' })), 'body.action'],
    ['a numeric action', record(rawMessage({ action: 7 })), 'body.action'],
    [
      'a product code with a space inside',
      record(rawMessage({ 'product-code': 'a b' })),
      'body.product-code',
    ],
    [
      'an oversized customer identifier',
      record(rawMessage({ 'customer-identifier': 'x'.repeat(256) })),
      'body.customer-identifier',
    ],
    [
      'a customer identifier with a colon, which would make the key ambiguous',
      record(rawMessage({ 'customer-identifier': 'a:b' })),
      'body.customer-identifier',
    ],
    [
      'a detail-type with control characters',
      record(licenseEvent('License Updated\n - Manufacturer')),
      'body.detail-type',
    ],
    [
      'a free-trial flag that is not true or false',
      record(rawMessage({ isFreeTrialTermPresent: 'yes' })),
      'body.isFreeTrialTermPresent',
    ],
    ['an SNS Message that is not JSON', record(snsEnvelope('not json')), 'body.Message'],
    ['an SNS Message that is a number', record(snsEnvelope('42')), 'body.Message'],
    [
      'an SNS envelope without Signature',
      record(snsEnvelope(rawMessage(), { Signature: undefined })),
      'body.Signature',
    ],
    [
      'an SNS envelope without MessageId',
      record(snsEnvelope(rawMessage(), { MessageId: undefined })),
      'body.MessageId',
    ],
    [
      'an SNS envelope without Message',
      record({ ...snsEnvelope(rawMessage()), Message: undefined }),
      'body.Message',
    ],
    [
      'an SNS Message of another type',
      record({ ...snsEnvelope(rawMessage()), Message: 42 }),
      'body.Message',
    ],
    [
      'an SNS SubscriptionConfirmation',
      record(snsEnvelope('You have chosen to subscribe', { Type: 'SubscriptionConfirmation' })),
      'body.Type',
    ],
    [
      'an unknown SNS Type',
      record(snsEnvelope(rawMessage(), { Type: 'Subscription' })),
      'body.Type',
    ],
    [
      'an SNS Message that is no marketplace message',
      record(snsEnvelope({ hello: 1 })),
      'body.Message',
    ],
    [
      'an SNS Message without product-code',
      record(snsEnvelope(rawMessage({ 'product-code': undefined }))),
      'body.Message.product-code',
    ],
    [
      'an event from another source',
      record({
        ...licenseEvent('License Updated - Manufacturer'),
        source: 'aws.marketplacecatalog',
      }),
      'body.source',
    ],
    [
      'License Updated without a license',
      record(licenseEvent('License Updated - Manufacturer', { license: undefined })),
      'body.detail.license.arn',
    ],
    [
      'License Deprovisioned without a product code',
      record(licenseEvent('License Deprovisioned - Manufacturer', { product: { id: 'prod-1' } })),
      'body.detail.product.code',
    ],
    [
      'License Updated without an acceptor',
      record(licenseEvent('License Updated - Manufacturer', { acceptor: {} })),
      'body.detail.acceptor.accountId',
    ],
    [
      'an acceptor account that is not digits',
      record(licenseEvent('License Updated - Manufacturer', { acceptor: { accountId: 'abc' } })),
      'body.detail.acceptor.accountId',
    ],
    [
      'an agreement event without agreement id',
      record({
        ...bodyOf('sqs-eventbridge-purchase-agreement-created'),
        detail: { acceptor: { accountId: '845735284135' }, agreement: {} },
      }),
      'body.detail.agreement.id',
    ],
    [
      'an event without id',
      record({ ...licenseEvent('License Updated - Manufacturer'), id: undefined }),
      'body.id',
    ],
    [
      'an event without detail',
      record({ ...licenseEvent('License Updated - Manufacturer'), detail: undefined }),
      'body.detail',
    ],
  ])('rejects %s with a ValidationError at its path', (_, input, path) => {
    const error = failureOf(() => parseSqsRecord(input as never));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).path).toBe(path);
    expect((error as ValidationError).retryable).toBe(false);
  });

  it('never crashes on odd values in any field: a notification or a ValidationError', () => {
    const odd: unknown[] = [
      null,
      0,
      true,
      [],
      {},
      '',
      ' ',
      '\u0000',
      'x'.repeat(5_000),
      '__proto__',
    ];
    const bases: Array<(value: unknown, key: string) => unknown> = [
      (value, key) => rawMessage({ [key]: value }),
      (value, key) => snsEnvelope(rawMessage(), { [key]: value }),
      (value, key) => ({ ...licenseEvent('License Updated - Manufacturer'), [key]: value }),
    ];
    const keys = [
      'action',
      'customer-identifier',
      'product-code',
      'offer-identifier',
      'isFreeTrialTermPresent',
      'Type',
      'Message',
      'MessageId',
      'Subject',
      'id',
      'source',
      'detail',
      'detail-type',
      '__proto__',
    ];
    for (const base of bases) {
      for (const key of keys) {
        for (const value of odd) {
          try {
            parseSqsRecord(record(base(value, key)));
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        }
      }
    }
  });
});
