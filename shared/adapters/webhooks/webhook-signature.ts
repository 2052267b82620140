import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError, ValidationError } from '../../domain/errors';

/** The header every webhook carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]`. */
export const SIGNATURE_HEADER = 'Marketplace-Signature';

/** How far a webhook's timestamp may be from the receiver's clock, unless told otherwise. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const SCHEME = 'v1';
const MIN_SECRET_LENGTH = 32;
/** A header longer than this is not ours: dozens of signatures would not fill it. */
const MAX_HEADER_LENGTH = 4_096;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

const assertSecrets = (secrets: readonly string[]): void => {
  if (secrets.length === 0 || secrets.some((secret) => secret.length < MIN_SECRET_LENGTH)) {
    throw new ValidationError(`webhook secrets must be at least ${MIN_SECRET_LENGTH} characters`, {
      path: 'secrets',
    });
  }
};

/** The timestamp is signed with the body, so a captured webhook cannot be replayed later. */
const hmacOf = (secret: string, timestampSeconds: number, body: string | Buffer): Buffer =>
  createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest();

/**
 * The `Marketplace-Signature` value for a body sent at `timestampSeconds`: one `v1` per secret,
 * so a receiver that knows either the old or the new secret accepts it while secrets rotate.
 */
export const signWebhook = (input: {
  readonly secrets: readonly string[];
  readonly body: string | Buffer;
  readonly timestampSeconds: number;
}): string => {
  assertSecrets(input.secrets);
  if (!Number.isSafeInteger(input.timestampSeconds) || input.timestampSeconds < 0) {
    throw new ValidationError('timestampSeconds must be whole seconds since the epoch', {
      path: 'timestampSeconds',
    });
  }
  const signatures = input.secrets.map(
    (secret) => `${SCHEME}=${hmacOf(secret, input.timestampSeconds, input.body).toString('hex')}`,
  );
  return [`t=${input.timestampSeconds}`, ...signatures].join(',');
};

const parseHeader = (header: string): { timestampSeconds: number; signatures: Buffer[] } => {
  if (header.length > MAX_HEADER_LENGTH) throw new UnauthorizedError('signature header too long');
  let timestampSeconds: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^[0-9]{1,12}$/.test(value)) timestampSeconds = Number(value);
    // Other schemes are skipped, so a sender can add a new one before receivers know it.
    if (key === SCHEME && HEX_SHA256.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestampSeconds === undefined) throw new UnauthorizedError('signature has no timestamp');
  if (signatures.length === 0) throw new UnauthorizedError(`signature has no ${SCHEME} value`);
  return { timestampSeconds, signatures };
};

/**
 * Verifies a webhook in the vendor's app: the `Marketplace-Signature` header against the raw
 * body exactly as received (parse it only afterwards), with any of `secrets` (old and new while
 * rotating), within `toleranceSeconds` of `nowEpochMs`. Compares in constant time.
 *
 * @returns the timestamp the sender signed.
 * @throws UnauthorizedError with a reason safe to log when the webhook must be refused.
 * @throws ValidationError when the secrets are too short or the tolerance is not a finite
 * number of seconds, 0 or more.
 */
export const verifyWebhookSignature = (input: {
  readonly header: string | null | undefined;
  readonly body: string | Buffer;
  readonly secrets: readonly string[];
  readonly nowEpochMs: number;
  readonly toleranceSeconds?: number;
}): { readonly timestampSeconds: number } => {
  assertSecrets(input.secrets);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // NaN would switch the timestamp check off (no difference is greater than NaN) and Infinity
  // would make it meaningless: a tolerance read from a missing setting must fail, not pass.
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new ValidationError('toleranceSeconds must be a finite number of seconds, 0 or more', {
      path: 'toleranceSeconds',
    });
  }
  if (!input.header) throw new UnauthorizedError(`no ${SIGNATURE_HEADER} header`);
  const { timestampSeconds, signatures } = parseHeader(input.header);
  if (Math.abs(input.nowEpochMs / 1000 - timestampSeconds) > tolerance) {
    throw new UnauthorizedError('signature timestamp is outside the tolerance');
  }
  const matches = input.secrets.some((secret) => {
    const expected = hmacOf(secret, timestampSeconds, input.body);
    return signatures.some((signature) => timingSafeEqual(signature, expected));
  });
  if (!matches) throw new UnauthorizedError('signature does not match the body');
  return { timestampSeconds };
};
