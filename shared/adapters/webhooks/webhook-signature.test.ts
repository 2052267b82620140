import { createHmac } from 'node:crypto';
import { UnauthorizedError, ValidationError } from '../../domain/errors';
import {
  DEFAULT_TOLERANCE_SECONDS,
  signWebhook,
  verifyWebhookSignature,
} from './webhook-signature';

const OLD = 'old-webhook-secret-0123456789abcdef';
const NEW = 'new-webhook-secret-fedcba9876543210';
const BODY = '{"id":"evt_1","type":"entitlement.activated","data":{"status":"active"}}';
const NOW_MS = 1_800_000_000_000;
const T = NOW_MS / 1000;

const verify = (
  header: string | null,
  overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {},
) =>
  verifyWebhookSignature({ header, body: BODY, secrets: [NEW], nowEpochMs: NOW_MS, ...overrides });

describe('webhook signatures', () => {
  it('signs HMAC-SHA256 over the timestamp and the body, as documented', () => {
    const expected = createHmac('sha256', NEW).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: T })).toBe(
      `t=${T},v1=${expected}`,
    );
  });

  it('accepts its own signature and says when it was signed', () => {
    const header = signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: T });
    expect(verify(header)).toEqual({ timestampSeconds: T });
    expect(verify(header, { body: Buffer.from(BODY) })).toEqual({ timestampSeconds: T });
  });

  it('accepts either secret while they rotate, from either side', () => {
    const signedWithBoth = signWebhook({ secrets: [OLD, NEW], body: BODY, timestampSeconds: T });
    expect(verify(signedWithBoth, { secrets: [OLD] })).toEqual({ timestampSeconds: T });
    expect(verify(signedWithBoth, { secrets: [NEW] })).toEqual({ timestampSeconds: T });
    const signedWithOld = signWebhook({ secrets: [OLD], body: BODY, timestampSeconds: T });
    expect(verify(signedWithOld, { secrets: [NEW, OLD] })).toEqual({ timestampSeconds: T });
  });

  it.each([
    ['a changed body', { body: BODY.replace('active', 'deleted') }],
    ['another secret', { secrets: [OLD] }],
    [
      'a timestamp past the tolerance',
      { nowEpochMs: NOW_MS + (DEFAULT_TOLERANCE_SECONDS + 1) * 1000 },
    ],
    ['a timestamp too far ahead', { nowEpochMs: NOW_MS - (DEFAULT_TOLERANCE_SECONDS + 1) * 1000 }],
    ['a tighter tolerance', { nowEpochMs: NOW_MS + 11_000, toleranceSeconds: 10 }],
  ])('refuses %s', (_case, overrides) => {
    const header = signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: T });
    expect(() => verify(header, overrides)).toThrow(UnauthorizedError);
  });

  it('refuses a signature moved to another timestamp', () => {
    const header = signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: T });
    expect(() => verify(header.replace(`t=${T}`, `t=${T + 1}`))).toThrow(/does not match/);
  });

  it.each([
    ['no header', null],
    ['an empty header', ''],
    ['no timestamp', `v1=${'a'.repeat(64)}`],
    ['no v1 value', `t=${T}`],
    ['a short v1 value', `t=${T},v1=abcd`],
    ['a v1 value that is not hex', `t=${T},v1=${'z'.repeat(64)}`],
    ['a timestamp that is not a number', `t=soon,v1=${'a'.repeat(64)}`],
    ['an endless header', `t=${T},${'v0=x,'.repeat(2_000)}`],
  ])('refuses %s with a reason and no exception of another kind', (_case, header) => {
    expect(() => verify(header)).toThrow(UnauthorizedError);
  });

  it('skips schemes it does not know, so a sender may add one first', () => {
    const header = signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: T });
    expect(verify(`${header},v2=${'b'.repeat(64)}`)).toEqual({ timestampSeconds: T });
  });

  it.each([
    ['not a number', Number.NaN],
    ['negative', -1],
    ['endless', Number.POSITIVE_INFINITY],
  ])('refuses a tolerance that is %s rather than skip the timestamp check', (_case, tolerance) => {
    // E.g. `Number(process.env.WEBHOOK_TOLERANCE)` with the variable unset, on a year-old webhook.
    const header = signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: T });
    expect(() =>
      verify(header, { nowEpochMs: NOW_MS + 365 * 86_400_000, toleranceSeconds: tolerance }),
    ).toThrow(ValidationError);
  });

  it('needs secrets long enough to be secrets, on both sides', () => {
    expect(() => signWebhook({ secrets: ['short'], body: BODY, timestampSeconds: T })).toThrow(
      ValidationError,
    );
    expect(() => signWebhook({ secrets: [], body: BODY, timestampSeconds: T })).toThrow(
      ValidationError,
    );
    expect(() => verify(`t=${T},v1=${'a'.repeat(64)}`, { secrets: ['short'] })).toThrow(
      ValidationError,
    );
    expect(() => signWebhook({ secrets: [NEW], body: BODY, timestampSeconds: 1.5 })).toThrow(
      ValidationError,
    );
  });
});
