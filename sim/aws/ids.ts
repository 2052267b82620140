import type { Random } from '../random';
import { LICENSE_ISSUER_ACCOUNT } from './aws-options';

/**
 * Identifiers shaped as AWS Marketplace's, drawn from the simulator's seeded stream so a run
 * under a fixed seed repeats them.
 */
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

const pick = (random: Random, alphabet: string, count: number): string => {
  let out = '';
  for (let i = 0; i < count; i += 1) out += alphabet[Math.floor(random.next() * alphabet.length)];
  return out;
};

export interface AwsIds {
  /** A 12-digit AWS account id. */
  accountId(): string;
  /** `CustomerIdentifier`, 11 characters as the documented `X01EXAMPLEX`. */
  customerIdentifier(): string;
  /** `arn:aws:license-manager::<issuer>:license:l-<32 hex>`, as ResolveCustomer answers. */
  licenseArn(): string;
  /** `agmt-` and 25 lowercase letters and digits. */
  agreementId(): string;
  /** `offer-` and 13 lowercase letters and digits. */
  offerId(): string;
  /**
   * An opaque registration token: base64 with `+`, `/` and `=`, so a fulfillment page that
   * forgets to decode its form body (`+` read as a space) fails here as it would in production.
   */
  registrationToken(): string;
  /** The id of a metering record, an SNS message or an EventBridge event (a UUID). */
  uuid(): string;
  /** An SQS receipt handle: long, opaque, new at every receive. */
  receiptHandle(): string;
  hex(count: number): string;
}

export const createAwsIds = (random: Random): AwsIds => ({
  accountId: () => random.digits(12),
  customerIdentifier: () => pick(random, ALPHANUMERIC, 11),
  licenseArn: () =>
    `arn:aws:license-manager::${LICENSE_ISSUER_ACCOUNT}:license:l-${random.hex(32)}`,
  agreementId: () => `agmt-${pick(random, LOWER_ALPHANUMERIC, 25)}`,
  offerId: () => `offer-${pick(random, LOWER_ALPHANUMERIC, 13)}`,
  registrationToken: () => {
    let token = '';
    // Redraw until the token holds both characters a form body mangles, as real ones often do.
    while (!/[+]/.test(token) || !/[/]/.test(token)) {
      token = Buffer.from(random.hex(128), 'hex').toString('base64');
    }
    return token;
  },
  uuid: () => random.uuid(),
  receiptHandle: () => `AQEB${Buffer.from(random.hex(192), 'hex').toString('base64')}`,
  hex: (count) => random.hex(count),
});
