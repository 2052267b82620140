import { SignJWT, jwtVerify } from 'jose';
import { randomUUID } from 'node:crypto';
import { UnauthorizedError } from '../../domain/errors';
import type { Cloud } from '../../domain/model';

/**
 * The short-lived token a signed-up buyer carries to the vendor's onboarding page: it says
 * which tenant and marketplace account the browser belongs to. HS256 with a secret the vendor's
 * app shares; the app verifies it with {@link verifyHandoffToken}.
 */
const ISSUER = 'marketplace-connector';
const AUDIENCE = 'vendor-onboarding';
const CLOCK_SKEW_SECONDS = 30;

export interface Handoff {
  readonly tenantId: string;
  readonly cloud: Cloud;
  readonly accountId: string;
  readonly firstSignup: boolean;
}

const keyOf = (secret: string) => new TextEncoder().encode(secret);

export const signHandoffToken = (
  handoff: Handoff,
  options: { secret: string; ttlSeconds: number; nowEpochMs: number },
): Promise<string> => {
  const issuedAt = Math.floor(options.nowEpochMs / 1000);
  return new SignJWT({
    cloud: handoff.cloud,
    account: handoff.accountId,
    first_signup: handoff.firstSignup,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(handoff.tenantId)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSeconds)
    .sign(keyOf(options.secret));
};

/** Where a signed-up buyer is sent: the vendor's onboarding page with a fresh handoff token. */
export const onboardingLocation = async (
  handoff: Handoff,
  options: { onboardingUrl: string; secret: string; ttlSeconds: number; nowEpochMs: number },
): Promise<string> => {
  const url = new URL(options.onboardingUrl);
  url.searchParams.set('handoff', await signHandoffToken(handoff, options));
  return url.toString();
};

/**
 * For the vendor's app: the handoff a token carries, once its signature, issuer, audience and
 * expiry check out.
 *
 * @throws UnauthorizedError otherwise.
 * @example
 * const { tenantId } = await verifyHandoffToken(req.query.handoff, { secret: process.env.HANDOFF_SECRET });
 */
export const verifyHandoffToken = async (
  token: string,
  options: { secret: string; nowEpochMs?: number },
): Promise<Handoff> => {
  try {
    const { payload } = await jwtVerify(token, keyOf(options.secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['sub', 'exp'],
      ...(options.nowEpochMs === undefined ? {} : { currentDate: new Date(options.nowEpochMs) }),
    });
    return {
      tenantId: payload.sub!,
      cloud: payload.cloud as Cloud,
      accountId: String(payload.account),
      firstSignup: payload.first_signup === true,
    };
  } catch (error) {
    throw new UnauthorizedError('handoff token rejected', { cause: error });
  }
};
