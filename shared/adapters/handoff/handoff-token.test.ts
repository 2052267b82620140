import { UnauthorizedError } from '../../domain/errors';
import { signHandoffToken, verifyHandoffToken } from './handoff-token';

const secret = 'a-very-long-handoff-secret-of-32-chars!';
const now = Date.UTC(2026, 10, 22, 10);
const handoff = { tenantId: 't-1', cloud: 'gcp' as const, accountId: 'E-1', firstSignup: true };

describe('handoff token', () => {
  it('carries the tenant and account to the vendor app', async () => {
    const token = await signHandoffToken(handoff, { secret, ttlSeconds: 300, nowEpochMs: now });
    expect(await verifyHandoffToken(token, { secret, nowEpochMs: now + 299_000 })).toEqual(handoff);
  });

  it.each([
    ['expired', { secret, nowEpochMs: now + 400_000 }],
    ['signed with another secret', { secret: `${secret}-other`, nowEpochMs: now }],
  ])('is refused when %s', async (_, options) => {
    const token = await signHandoffToken(handoff, { secret, ttlSeconds: 300, nowEpochMs: now });
    await expect(verifyHandoffToken(token, options)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('is refused when tampered with', async () => {
    const token = await signHandoffToken(handoff, { secret, ttlSeconds: 300, nowEpochMs: now });
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({
        sub: 'someone-else',
        exp: 9e9,
        iss: 'marketplace-connector',
        aud: 'vendor-onboarding',
      }),
    ).toString('base64url');
    await expect(
      verifyHandoffToken(`${header}.${forged}.${signature}`, { secret, nowEpochMs: now }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
