import { z } from 'zod';
import {
  blankToUndefined,
  collect,
  handoffSchema,
  optionalList,
  parse,
  text,
  url,
  withDefault,
} from './env-schema';
import type { Env } from './env-schema';
import { loadCoreConfig } from './load-config';
import type { CoreConfig } from './load-config';
import { meteringDimensionsSchema, meteringWindowHoursSchema } from './usage-env';

export interface AwsMarketplaceConfig {
  readonly productCode: string;
  /** The simulator locally; unset in production. */
  readonly endpoint?: string;
  /** Where BatchMeterUsage and ResolveCustomer are called: the function's own region. */
  readonly region?: string;
}

const marketplaceSchema = z.object({
  AWS_PRODUCT_CODE: text,
  AWS_MARKETPLACE_ENDPOINT: z.preprocess(blankToUndefined, url.optional()),
  AWS_REGION: z.preprocess(blankToUndefined, z.string().trim().optional()),
});

const marketplaceOf = (env: Env): AwsMarketplaceConfig => {
  const value = parse(marketplaceSchema, env);
  return {
    productCode: value.AWS_PRODUCT_CODE,
    ...(value.AWS_MARKETPLACE_ENDPOINT ? { endpoint: value.AWS_MARKETPLACE_ENDPOINT } : {}),
    ...(value.AWS_REGION ? { region: value.AWS_REGION } : {}),
  };
};

export interface AwsMeteringConfig {
  /** The listing's usage dimensions; each gets a 0 for an hour without usage when on. */
  readonly dimensions: readonly string[];
  readonly zeroRecords: boolean;
  readonly ratePerSecond: number;
  readonly windowHours: number;
}

const meteringSchema = z.object({
  METERING_DIMENSIONS: meteringDimensionsSchema,
  METERING_ZERO_RECORDS: withDefault(
    'true',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['true', 'false'], 'must be true or false')),
  ),
  METERING_RATE_PER_SECOND: withDefault(
    '10',
    z.coerce.number('must be a number').positive('must be above 0').max(1000),
  ),
  METERING_WINDOW_HOURS: meteringWindowHoursSchema,
});

const meteringOf = (env: Env): AwsMeteringConfig => {
  const value = parse(meteringSchema, env);
  return {
    dimensions: value.METERING_DIMENSIONS,
    zeroRecords: value.METERING_ZERO_RECORDS === 'true',
    ratePerSecond: value.METERING_RATE_PER_SECOND,
    windowHours: value.METERING_WINDOW_HOURS,
  };
};

export interface AwsSignupConfig extends CoreConfig {
  readonly marketplace: AwsMarketplaceConfig;
  readonly onboardingUrl: string;
  readonly handoff: { readonly secret: string; readonly ttlSeconds: number };
}

/** Configuration of `aws/signup`, read once at cold start. @throws ConfigError */
export const loadAwsSignupConfig = (env: Env = process.env): AwsSignupConfig =>
  collect(
    [() => loadCoreConfig(env, 'aws'), () => marketplaceOf(env), () => parse(handoffSchema, env)],
    () => {
      const handoff = parse(handoffSchema, env);
      return {
        ...loadCoreConfig(env, 'aws'),
        marketplace: marketplaceOf(env),
        onboardingUrl: handoff.ONBOARDING_URL,
        handoff: { secret: handoff.HANDOFF_SECRET, ttlSeconds: handoff.HANDOFF_TTL_SECONDS },
      };
    },
  );

export interface AwsNotificationsConfig extends CoreConfig {
  readonly marketplace: AwsMarketplaceConfig;
  readonly metering: AwsMeteringConfig;
  /** Topics whose signed SNS messages are accepted; empty: SNS messages are refused. */
  readonly snsTopicArns: readonly string[];
  /** The simulator's host; unset in production (only `sns.<region>.amazonaws.com`). */
  readonly snsCertificateHost?: string;
}

const snsSchema = z.object({
  SNS_TOPIC_ARNS: optionalList.pipe(
    z.array(z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:\S+$/, 'must be SNS ARNs')),
  ),
  SNS_CERT_HOST: z.preprocess(blankToUndefined, z.string().trim().optional()),
});

/** Configuration of `aws/notifications`, read once at cold start. @throws ConfigError */
export const loadAwsNotificationsConfig = (env: Env = process.env): AwsNotificationsConfig =>
  collect(
    [
      () => loadCoreConfig(env, 'aws'),
      () => marketplaceOf(env),
      () => meteringOf(env),
      () => parse(snsSchema, env),
    ],
    () => {
      const sns = parse(snsSchema, env);
      return {
        ...loadCoreConfig(env, 'aws'),
        marketplace: marketplaceOf(env),
        metering: meteringOf(env),
        snsTopicArns: sns.SNS_TOPIC_ARNS,
        ...(sns.SNS_CERT_HOST ? { snsCertificateHost: sns.SNS_CERT_HOST } : {}),
      };
    },
  );

export interface AwsMeteringFunctionConfig extends CoreConfig {
  readonly marketplace: AwsMarketplaceConfig;
  readonly metering: AwsMeteringConfig;
}

/** Configuration of `aws/metering`, read once at cold start. @throws ConfigError */
export const loadAwsMeteringConfig = (env: Env = process.env): AwsMeteringFunctionConfig =>
  collect(
    [() => loadCoreConfig(env, 'aws'), () => marketplaceOf(env), () => meteringOf(env)],
    () => ({
      ...loadCoreConfig(env, 'aws'),
      marketplace: marketplaceOf(env),
      metering: meteringOf(env),
    }),
  );
