// Signup form POST (x-gcp-marketplace-token) --> verify JWT --> completeSignup --> 303 onboarding.
import { randomUUID } from 'node:crypto';
import * as functions from '@google-cloud/functions-framework';
import {
  completeSignup,
  createJsonLogger,
  isRetryable,
  loadGcpSignupConfig,
  NotFoundError,
  onboardingLocation,
  systemClock,
  UnauthorizedError,
} from '../../shared';
import {
  createGcpMarketplaceFromConfig,
  createSignupTokenVerifier,
} from '../../shared/adapters/gcp';
import { createFirestoreStoreFromConfig } from '../../shared/adapters/firestore';
import { storeDeliveringWebhooks } from '../../shared/adapters/webhooks';
import { messagePage } from '../../shared/adapters/http/pages';
import type { Page } from '../../shared/adapters/http/pages';

const config = loadGcpSignupConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'gcp-signup' } });
const marketplace = createGcpMarketplaceFromConfig(config.marketplace);
const deps = {
  store: storeDeliveringWebhooks({
    env: process.env,
    store: createFirestoreStoreFromConfig(config.store),
    clock: systemClock,
    logger,
    eventTtlSeconds: config.eventTtlSeconds,
  }),
  approvals: marketplace,
  answering: {
    approvals: marketplace,
    policy: config.policy,
    signupMessage: config.signupMessage,
    logger,
  },
  clock: systemClock,
  logger,
  eventTtlSeconds: config.eventTtlSeconds,
  newTenantId: () => randomUUID(),
};
const verifySignupToken = createSignupTokenVerifier({
  certsBaseUrl: config.marketplace.googleCertsUrl,
  audiences: config.productDomains,
  clock: systemClock,
});

const AGAIN = 'Go back to Google Cloud Marketplace and choose "Sign up with provider" again.';

const errorPage = (error: unknown): Page => {
  if (error instanceof UnauthorizedError) {
    return messagePage(
      401,
      'This signup link is no longer valid',
      `It expired or was altered. ${AGAIN}`,
    );
  }
  if (error instanceof NotFoundError) {
    return messagePage(
      404,
      'Purchase not found',
      `Google Cloud no longer knows this account. ${AGAIN}`,
    );
  }
  return isRetryable(error)
    ? messagePage(
        503,
        'Please try again',
        'We could not reach Google Cloud Marketplace. Reload this page in a minute.',
      )
    : messagePage(500, 'Signup failed', `Something went wrong on our side. ${AGAIN}`);
};

functions.http('gcpSignup', async (req, res) => {
  const send = (page: Page) => res.status(page.status).set(page.headers).send(page.body);
  if (req.method !== 'POST') {
    send(
      messagePage(405, 'Nothing to see here', `This address takes Google's signup form. ${AGAIN}`),
    );
    return;
  }
  const token = (req.body as Record<string, unknown> | undefined)?.['x-gcp-marketplace-token'];
  if (typeof token !== 'string' || token.length === 0 || token.length > 8_192) {
    send(messagePage(400, 'The signup form is incomplete', AGAIN));
    return;
  }
  const log = logger.child({ correlationId: randomUUID() });
  try {
    const claims = await verifySignupToken(token);
    const result = await completeSignup(
      { ...deps, logger: log },
      {
        cloud: 'gcp',
        accountId: claims.accountId,
        signupId: `signup:${claims.accountId}:${claims.issuedAtEpochMs}`,
        userIdentity: claims.userIdentity,
        audit: {
          roles: claims.roles,
          orders: claims.orders,
          issuedAtEpochMs: claims.issuedAtEpochMs,
        },
      },
    );
    const location = await onboardingLocation(
      {
        tenantId: result.tenantId,
        cloud: 'gcp',
        accountId: result.accountId,
        firstSignup: result.firstSignup,
      },
      { ...config.handoff, onboardingUrl: config.onboardingUrl, nowEpochMs: systemClock.now() },
    );
    res.redirect(303, location);
  } catch (error) {
    log.warn('signup refused', { error });
    send(errorPage(error));
  }
});
