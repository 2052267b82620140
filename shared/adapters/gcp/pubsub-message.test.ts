import { ValidationError } from '../../domain/errors';
import { loadFixture } from '../../test/fixtures';
import { parseMarketplaceMessage, pubsubMessageOf } from './pubsub-message';

const PROVIDER = 'DEMO-example-project';
const encode = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64');
const push = (payload: unknown) => ({
  message: { data: encode(payload), messageId: '1234567890', publishTime: '2026-11-22T10:00:01Z' },
  subscription: 'projects/vendor/subscriptions/marketplace',
});

describe('Pub/Sub marketplace messages', () => {
  it('reads an account message into a command', () => {
    const payload = loadFixture('gcp', 'account-active');
    const command = parseMarketplaceMessage(pubsubMessageOf(push(payload)), PROVIDER);
    expect(command).toEqual({
      cloud: 'gcp',
      eventId: 'CREATE_ACCOUNT-00000000-0000-0000-0000-000000000001',
      type: 'ACCOUNT_ACTIVE',
      accountId: 'E-1234-5678-ABCD',
      entitlementId: null,
      hint: null,
      payload,
    });
  });

  it('dispatches an account message without eventType on its account key', () => {
    const command = parseMarketplaceMessage(
      pubsubMessageOf(push(loadFixture('gcp', 'account-without-event-type'))),
      PROVIDER,
    );
    expect(command).toMatchObject({ accountId: 'E-1234-5678-ABCD', entitlementId: null });
  });

  it.each([
    ['entitlement-creation-requested-private-offer', 'ENTITLEMENT_CREATION_REQUESTED', null],
    [
      'entitlement-plan-change-requested',
      'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
      'plan_change_requested',
    ],
    ['entitlement-offer-accepted', 'ENTITLEMENT_OFFER_ACCEPTED', 'updated'],
  ])('reads %s with its hint', (fixture, type, hint) => {
    const command = parseMarketplaceMessage(
      pubsubMessageOf(push(loadFixture('gcp', fixture))),
      PROVIDER,
    );
    expect(command).toMatchObject({
      type,
      hint,
      entitlementId: '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    });
  });

  it('gives no hint for an event type that names an object property', () => {
    const payload = {
      eventId: 'e',
      eventType: 'constructor',
      providerId: PROVIDER,
      entitlement: { id: 'x' },
    };
    expect(parseMarketplaceMessage(pubsubMessageOf(push(payload)), PROVIDER).hint).toBeNull();
  });

  it('takes the CloudEvent data shape as well as the push body', () => {
    const { message } = push(loadFixture('gcp', 'account-active'));
    const data = {
      message: { ...message, attributes: null },
      subscription: 'projects/p/subscriptions/s',
    };
    expect(parseMarketplaceMessage(pubsubMessageOf(data), PROVIDER).type).toBe('ACCOUNT_ACTIVE');
  });

  it.each([
    ['no message', {}],
    ['empty data', { message: { data: '', messageId: '1' } }],
    [
      'data that is not JSON',
      { message: { data: Buffer.from('not json').toString('base64'), messageId: '1' } },
    ],
    ['neither account nor entitlement', push({ eventId: 'e', providerId: PROVIDER })],
    [
      'both account and entitlement',
      push({ eventId: 'e', providerId: PROVIDER, account: { id: 'a' }, entitlement: { id: 'b' } }),
    ],
    ['no event id', push({ providerId: PROVIDER, account: { id: 'a' } })],
    ['another provider', push({ eventId: 'e', providerId: 'someone-else', account: { id: 'a' } })],
  ])('rejects %s with a ValidationError', (_, body) => {
    expect(() => parseMarketplaceMessage(pubsubMessageOf(body), PROVIDER)).toThrow(ValidationError);
  });
});
