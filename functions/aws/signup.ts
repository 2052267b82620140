// HTTP API (v2) POST /signup, the listing's fulfillment URL: the buyer's browser posts
// x-amzn-marketplace-token --> ResolveCustomer --> registerAwsBuyer --> 303 to onboarding.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import {
  createJsonLogger,
  isRetryable,
  loadAwsSignupConfig,
  registerAwsBuyer,
  onboardingLocation,
  systemClock,
  UnauthorizedError,
  ValidationError,
} from '../../shared';
import {
  createAwsBuyerResolver,
  createMeteringClient,
  parseRegistrationForm,
} from '../../shared/adapters/aws';
import { createDynamoDbStoreFromConfig } from '../../shared/adapters/dynamodb';
import { storeDeliveringWebhooks } from '../../shared/adapters/webhooks';
import { messagePage } from '../../shared/adapters/http/pages';
import type { Page } from '../../shared/adapters/http/pages';

const config = loadAwsSignupConfig(process.env);
const logger = createJsonLogger({ level: config.logLevel, fields: { function: 'aws-signup' } });
const deps = {
  store: storeDeliveringWebhooks({
    env: process.env,
    store: createDynamoDbStoreFromConfig(config.store),
    clock: systemClock,
    logger,
    eventTtlSeconds: config.eventTtlSeconds,
  }),
  resolver: createAwsBuyerResolver({ client: createMeteringClient(config.marketplace) }),
  clock: systemClock,
  logger,
  eventTtlSeconds: config.eventTtlSeconds,
  productCode: config.marketplace.productCode,
  newTenantId: () => randomUUID(),
};

const AGAIN =
  'Go back to your AWS Marketplace subscription and choose "Set up your account" again.';

const errorPage = (error: unknown): Page => {
  if (error instanceof UnauthorizedError) {
    return messagePage(
      401,
      'This registration link is no longer valid',
      `It expired or was already used. ${AGAIN}`,
    );
  }
  if (error instanceof ValidationError) {
    return messagePage(400, 'The registration form is incomplete', AGAIN);
  }
  return isRetryable(error)
    ? messagePage(
        503,
        'Please try again',
        'We could not reach AWS Marketplace. Reload this page in a minute.',
      )
    : messagePage(500, 'Registration failed', `Something went wrong on our side. ${AGAIN}`);
};

const toResult = (page: Page): APIGatewayProxyResultV2 => ({
  statusCode: page.status,
  headers: { ...page.headers },
  body: page.body,
});

/** Registers the buyer and sends them on to the vendor's onboarding page with a handoff. */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
  if (event.requestContext?.http?.method !== 'POST') {
    return toResult(
      messagePage(
        405,
        'Nothing to see here',
        `This address takes AWS's registration form. ${AGAIN}`,
      ),
    );
  }
  const log = logger.child({ correlationId: event.requestContext.requestId ?? randomUUID() });
  try {
    const form = parseRegistrationForm(event);
    const result = await registerAwsBuyer(
      { ...deps, logger: log },
      {
        registrationToken: form.registrationToken,
        freeTrial: form.freeTrial,
        signupId: `signup:${randomUUID()}`,
      },
    );
    const location = await onboardingLocation(
      {
        tenantId: result.tenantId,
        cloud: 'aws',
        accountId: result.accountId,
        firstSignup: result.firstSignup,
      },
      { ...config.handoff, onboardingUrl: config.onboardingUrl, nowEpochMs: systemClock.now() },
    );
    return {
      statusCode: 303,
      headers: {
        location,
        'cache-control': 'no-store',
      },
      body: '',
    };
  } catch (error) {
    log.warn('registration refused', { error });
    return toResult(errorPage(error));
  }
};
