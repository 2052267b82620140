import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { loadFixture } from '../../shared/test/fixtures';
import type { SubscribeAnswer } from '../../sim/aws/aws-simulator';
import type { AwsProductOptions } from '../../sim/aws/aws-options';
import type { NotificationStyle } from '../../sim/aws/model';
import type { RecordedMessage } from '../../sim/messages';
import { DIMENSIONS, PRODUCT_CODE } from './aws-stack';

/**
 * What the AWS suites read of the simulator's messages and build as AWS would, derived here
 * from AWS's documented rules rather than from the code under test.
 */

/** A second listing of the same seller, whose messages and tokens the functions must refuse. */
export const OTHER_PRODUCT = 'other0product0code0local2';

/** The stack's product and `OTHER_PRODUCT`, as the simulator's `products` option. */
export const WITH_OTHER_PRODUCT: readonly AwsProductOptions[] = [
  {
    code: PRODUCT_CODE,
    id: 'prod-demolocal0001',
    offerId: 'offer-demolocalpublic1',
    usageDimensions: DIMENSIONS,
  },
  { code: OTHER_PRODUCT },
];

export const isLegacy = (style: NotificationStyle) => style !== 'eventbridge';

/** The key of a purchase: the LicenseArn, or for a legacy listing CustomerIdentifier:ProductCode. */
export const entitlementIdOf = (bought: SubscribeAnswer, style: NotificationStyle): string =>
  isLegacy(style) ? `${bought.customerIdentifier}:${bought.productCode}` : bought.licenseArn;

/** The buyer's account: the AWS account id, or for a legacy listing the CustomerIdentifier. */
export const accountIdOf = (bought: SubscribeAnswer, style: NotificationStyle): string =>
  isLegacy(style) ? bought.customerIdentifier! : bought.customerAWSAccountId;

export const recordOf = (message: RecordedMessage): SQSRecord => message.envelope as SQSRecord;
const snsBodyOf = (message: RecordedMessage) =>
  JSON.parse(recordOf(message).body) as { MessageId: string; Timestamp: string };

/** The id the event log keeps a message under, as AWS gives it for each channel. */
export const eventIdOf = (message: RecordedMessage): string => {
  if (message.channel === 'sqs:sns') return snsBodyOf(message).MessageId;
  if (message.channel === 'sqs:eventbridge') return (message.payload as { id: string }).id;
  return `sqs:${message.id}`;
};

/** When AWS sent it: the SNS Timestamp, the EventBridge time, or SQS's SentTimestamp. */
export const sentAtOf = (message: RecordedMessage): number => {
  if (message.channel === 'sqs:sns') return Date.parse(snsBodyOf(message).Timestamp);
  if (message.channel === 'sqs:eventbridge') {
    return Date.parse((message.payload as { time: string }).time);
  }
  return Number(recordOf(message).attributes.SentTimestamp);
};

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** A Lambda SQS event in the documented shape, holding the bodies given, one record each. */
export const sqsEventOf = (queueArn: string, ...bodies: string[]): SQSEvent => {
  const [template] = loadFixture<SQSEvent>('aws', 'sqs-sns-raw-unsubscribe-pending').Records;
  return {
    Records: bodies.map((body) => ({
      ...template!,
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      attributes: { ...template!.attributes, SentTimestamp: String(Date.now()) },
      eventSourceARN: queueArn,
    })),
  };
};
