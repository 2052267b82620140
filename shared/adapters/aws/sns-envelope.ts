import { z } from 'zod';

/** What SNS puts around a message it delivers without raw delivery (HTTP(S), SQS, email-json). */
export const SnsMessageType = {
  notification: 'Notification',
  subscriptionConfirmation: 'SubscriptionConfirmation',
  unsubscribeConfirmation: 'UnsubscribeConfirmation',
} as const;
export type SnsMessageType = (typeof SnsMessageType)[keyof typeof SnsMessageType];

// Printable ASCII without spaces: every identifier SNS writes (ids, ARNs, URLs, base64).
const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/**
 * The fields the signature covers or needs, with AWS's own names so the envelope is literally
 * what SNS sent. `Message` stays the exact string SNS signed: never re-serialise it.
 */
export const snsEnvelopeSchema = z
  .object({
    Type: z.enum([
      SnsMessageType.notification,
      SnsMessageType.subscriptionConfirmation,
      SnsMessageType.unsubscribeConfirmation,
    ]),
    MessageId: printable(256),
    TopicArn: printable(512),
    // SNS leaves Subject out when the publisher set none; a Lambda SNS event writes null.
    Subject: z
      .string()
      .max(1024)
      .nullish()
      .transform((subject) => subject ?? undefined),
    Message: z.string(),
    Timestamp: printable(64),
    SignatureVersion: printable(8),
    Signature: printable(4096),
    SigningCertURL: printable(2048),
    SubscribeURL: printable(4096).optional(),
    Token: printable(4096).optional(),
  })
  .loose()
  .superRefine((envelope, context) => {
    if (envelope.Type === SnsMessageType.notification) return;
    for (const key of ['SubscribeURL', 'Token'] as const) {
      if (envelope[key] === undefined) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `a ${envelope.Type} carries ${key}`,
        });
      }
    }
  });

/** An SNS message as delivered, with what its signature check needs. */
export interface SnsEnvelope {
  readonly Type: SnsMessageType;
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: string;
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly SubscribeURL?: string;
  readonly Token?: string;
}

/** Keeps only the signed and signing fields, dropping whatever else the body carried. */
export const envelopeOf = (parsed: z.infer<typeof snsEnvelopeSchema>): SnsEnvelope => ({
  Type: parsed.Type,
  MessageId: parsed.MessageId,
  TopicArn: parsed.TopicArn,
  ...(parsed.Subject === undefined ? {} : { Subject: parsed.Subject }),
  Message: parsed.Message,
  Timestamp: parsed.Timestamp,
  SignatureVersion: parsed.SignatureVersion,
  Signature: parsed.Signature,
  SigningCertURL: parsed.SigningCertURL,
  ...(parsed.SubscribeURL === undefined ? {} : { SubscribeURL: parsed.SubscribeURL }),
  ...(parsed.Token === undefined ? {} : { Token: parsed.Token }),
});

/** Both confirmations (subscribe and unsubscribe) sign the same keys. */
const CONFIRMATION_KEYS: ReadonlyArray<keyof SnsEnvelope> = [
  'Message',
  'MessageId',
  'SubscribeURL',
  'Timestamp',
  'Token',
  'TopicArn',
  'Type',
];
/** The keys SNS signs, in the order it signs them (each as `Key\nValue\n`). */
const SIGNED_KEYS: Readonly<Record<SnsMessageType, ReadonlyArray<keyof SnsEnvelope>>> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: CONFIRMATION_KEYS,
  UnsubscribeConfirmation: CONFIRMATION_KEYS,
};

/**
 * The string SNS signs, as its documentation builds it: the keys above that are present, each
 * as its name, a newline, its value, a newline. Subject is signed only when present.
 */
export const stringToSign = (envelope: SnsEnvelope): string =>
  SIGNED_KEYS[envelope.Type]
    .filter((key) => envelope[key] !== undefined)
    .map((key) => `${key}\n${envelope[key]}\n`)
    .join('');
