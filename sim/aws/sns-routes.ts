import type { SimRoute } from '../http/types';
import type { SnsSigner } from './sns-signing';

/**
 * What SNS serves besides deliveries: the signing certificates at
 * `/SimpleNotificationService-<id>.pem` (every key ever used, as SNS keeps old ones served),
 * the `SubscribeURL` of a subscription confirmation (`GET /?Action=ConfirmSubscription&…`), and
 * the `UnsubscribeURL` of a notification (`GET /?Action=Unsubscribe&SubscriptionArn=…`), after
 * which that topic's notifications no longer reach the queue. None is faulted.
 */
const xml = (status: number, text: string) => ({
  status,
  text,
  headers: { 'content-type': 'text/xml' },
});

export const snsRoutes = (deps: {
  readonly signer: SnsSigner;
  readonly unsubscribe: (subscriptionArn: string) => boolean;
  /** The subscription ARN a confirmation token confirms, `undefined` for a wrong one. */
  readonly confirm: (topicArn: string, token: string) => string | undefined;
  readonly requestId: () => string;
}): SimRoute[] => [
  {
    method: 'GET',
    pattern: '/SimpleNotificationService-{id}.pem',
    handle: (request) => {
      const key = deps.signer.published().find((candidate) => candidate.id === request.params.id);
      if (!key) {
        return xml(
          404,
          '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
        );
      }
      return {
        status: 200,
        text: key.certificatePem,
        headers: { 'content-type': 'application/x-pem-file' },
      };
    },
  },
  {
    method: 'GET',
    pattern: '/',
    handle: (request) => {
      const query = request.url.searchParams;
      const action = query.get('Action');
      const invalid = (parameter: string) =>
        xml(
          400,
          `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: ${parameter}</Message></Error><RequestId>${deps.requestId()}</RequestId></ErrorResponse>`,
        );
      if (action === 'ConfirmSubscription') {
        const subscriptionArn = deps.confirm(query.get('TopicArn') ?? '', query.get('Token') ?? '');
        if (!subscriptionArn) return invalid('Token');
        return xml(
          200,
          `<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>${subscriptionArn}</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>${deps.requestId()}</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>`,
        );
      }
      if (action !== 'Unsubscribe') return invalid('Action');
      if (!deps.unsubscribe(query.get('SubscriptionArn') ?? '')) return invalid('SubscriptionArn');
      return xml(
        200,
        `<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ResponseMetadata><RequestId>${deps.requestId()}</RequestId></ResponseMetadata></UnsubscribeResponse>`,
      );
    },
  },
];
