import type { KeyObject } from 'node:crypto';
import { generateKeyPair, sign } from 'node:crypto';
import { promisify } from 'node:util';
import type { Random } from '../random';
import { createSelfSignedCertificate } from '../gcp/self-signed-certificate';

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * Amazon SNS message signatures: the string to sign, the RSA signature (SHA1 for
 * `SignatureVersion` 1, SHA256 for 2) and the certificate SNS publishes at `SigningCertURL`
 * (`SimpleNotificationService-<id>.pem`). A verifier follows AWS's recipe unchanged; only the
 * certificate's host is the simulator instead of `sns.<region>.amazonaws.com`.
 */
export type SnsSignatureVersion = '1' | '2';

/** An SNS `Notification` as SNS writes it, in the documented key order. */
export interface SnsEnvelope {
  readonly Type: 'Notification';
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: SnsSignatureVersion;
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly UnsubscribeURL: string;
}

export type UnsignedEnvelope = Omit<SnsEnvelope, 'Signature'>;

/**
 * What SNS sends to a new cross-account subscription before any notification: visiting
 * `SubscribeURL` confirms it. An SQS subscriber receives it in its queue like a notification.
 */
export interface SnsSubscriptionConfirmation {
  readonly Type: 'SubscriptionConfirmation';
  readonly MessageId: string;
  readonly Token: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly SubscribeURL: string;
  readonly Timestamp: string;
  readonly SignatureVersion: SnsSignatureVersion;
  readonly Signature: string;
  readonly SigningCertURL: string;
}

// The fields each message type signs, in the order AWS's recipe lists them.
const SIGNED_FIELDS = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
} as const;

/**
 * A notification signs `Message`, `MessageId`, `Subject` (when present), `Timestamp`,
 * `TopicArn`, `Type`; a subscription confirmation `Message`, `MessageId`, `SubscribeURL`,
 * `Timestamp`, `Token`, `TopicArn`, `Type`; each as `Key\nValue\n` (AWS, "Verifying the
 * signatures of Amazon SNS messages").
 */
export const snsStringToSign = (
  message: Readonly<Record<string, string | undefined>> & {
    readonly Type: keyof typeof SIGNED_FIELDS;
  },
): string =>
  SIGNED_FIELDS[message.Type]
    .filter((key) => message[key] !== undefined)
    .map((key) => `${key}\n${message[key]}\n`)
    .join('');

export const snsDigest = (version: SnsSignatureVersion): 'sha1' | 'sha256' =>
  version === '1' ? 'sha1' : 'sha256';

export interface SnsSigningKey {
  /** 32 hex digits, as in `SimpleNotificationService-<id>.pem`. */
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certificatePem: string;
}

/** The certificate's path under the simulator's URL. */
export const signingCertPath = (key: SnsSigningKey): string =>
  `/SimpleNotificationService-${key.id}.pem`;

const DAY_MS = 86_400_000;

const createSnsSigningKey = async (random: Random, nowMs: number): Promise<SnsSigningKey> => {
  const { privateKey, publicKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  return {
    id: random.hex(32),
    privateKey,
    publicKey,
    certificatePem: createSelfSignedCertificate({
      privateKey,
      publicKey,
      // The subject of SNS's real signing certificates.
      commonName: 'sns.amazonaws.com',
      serial: Buffer.from(random.hex(16), 'hex'),
      notBefore: new Date(nowMs - DAY_MS),
      notAfter: new Date(nowMs + 365 * DAY_MS),
    }),
  };
};

export interface SnsSigner {
  current(): SnsSigningKey;
  /** Every key ever used: a message signed before a rotation still names a served cert. */
  published(): readonly SnsSigningKey[];
  rotate(): Promise<SnsSigningKey>;
  /** Signs an envelope with the current key; `certUrl` builds its `SigningCertURL`. */
  sign(
    envelope: Omit<UnsignedEnvelope, 'SigningCertURL'>,
    certUrl: (key: SnsSigningKey) => string,
  ): SnsEnvelope;
  /** Signs a subscription confirmation the same way. */
  signConfirmation(
    confirmation: Omit<SnsSubscriptionConfirmation, 'Signature' | 'SigningCertURL'>,
    certUrl: (key: SnsSigningKey) => string,
  ): SnsSubscriptionConfirmation;
}

export const createSnsSigner = async (random: Random, nowMs: () => number): Promise<SnsSigner> => {
  const keys: SnsSigningKey[] = [await createSnsSigningKey(random, nowMs())];
  return {
    current: () => keys[0]!,
    published: () => keys,
    rotate: async () => {
      const next = await createSnsSigningKey(random, nowMs());
      keys.unshift(next);
      return next;
    },
    sign: (envelope, certUrl) => {
      const key = keys[0]!;
      // SNS's key order: the signature sits between SignatureVersion and SigningCertURL.
      const { UnsubscribeURL, ...rest } = envelope;
      return {
        ...rest,
        Signature: signWith(key, envelope),
        SigningCertURL: certUrl(key),
        UnsubscribeURL,
      };
    },
    signConfirmation: (confirmation, certUrl) => {
      const key = keys[0]!;
      return {
        ...confirmation,
        Signature: signWith(key, confirmation),
        SigningCertURL: certUrl(key),
      };
    },
  };
};

const signWith = (
  key: SnsSigningKey,
  message: Parameters<typeof snsStringToSign>[0] & {
    readonly SignatureVersion: SnsSignatureVersion;
  },
): string =>
  sign(
    snsDigest(message.SignatureVersion),
    Buffer.from(snsStringToSign(message), 'utf8'),
    key.privateKey,
  ).toString('base64');

/**
 * The SQS body of an SNS notification as SNS writes it: indented, with a space before each
 * colon. Parsers do not care; a hand-rolled one that expects compact JSON would.
 */
export const formatSnsBody = (envelope: SnsEnvelope | SnsSubscriptionConfirmation): string =>
  `{\n${Object.entries(envelope)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `  ${JSON.stringify(key)} : ${JSON.stringify(value)}`)
    .join(',\n')}\n}`;
