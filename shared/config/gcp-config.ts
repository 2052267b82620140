import { z } from 'zod';
import type { ApprovalPolicy } from '../domain/approval-policy';
import { loadCoreConfig } from './load-config';
import type { CoreConfig } from './load-config';

import { blankToUndefined, collect, handoffSchema, list, parse, text, url } from './env-schema';
import type { Env } from './env-schema';
import { usageMetricsSchema } from './usage-env';

const GOOGLE_DEFAULTS = {
  PROCUREMENT_API_URL: 'https://cloudcommerceprocurement.googleapis.com/',
  SERVICE_CONTROL_API_URL: 'https://servicecontrol.googleapis.com/',
  GOOGLE_CERTS_URL: 'https://www.googleapis.com',
  SIGNUP_MESSAGE: 'Finish signing up with the vendor to activate this purchase.',
} as const;

const withDefaults = (env: Env): Env => {
  const filled: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(GOOGLE_DEFAULTS)) {
    if (!filled[name]?.trim()) filled[name] = value;
  }
  return filled;
};

const policySchema = z
  .object({
    APPROVAL_POLICY: z.preprocess(
      (value) => blankToUndefined(value) ?? 'auto',
      z.enum(['auto', 'plans', 'manual'], 'must be auto, plans or manual'),
    ),
    APPROVAL_PLANS: z.preprocess(blankToUndefined, list.optional()),
  })
  .superRefine((value, ctx) => {
    if (value.APPROVAL_POLICY === 'plans' && !value.APPROVAL_PLANS) {
      ctx.addIssue({
        code: 'custom',
        path: ['APPROVAL_PLANS'],
        message: 'is required when APPROVAL_POLICY=plans',
      });
    }
  });

const policyOf = (value: z.infer<typeof policySchema>): ApprovalPolicy =>
  value.APPROVAL_POLICY === 'plans'
    ? { mode: 'plans', plans: value.APPROVAL_PLANS ?? [] }
    : { mode: value.APPROVAL_POLICY };

const marketplaceSchema = z.object({
  GCP_PROVIDER_ID: text,
  PROCUREMENT_API_URL: url,
  GOOGLE_CERTS_URL: url,
});

export interface GcpMarketplaceConfig {
  readonly providerId: string;
  readonly procurementApiUrl: string;
  readonly googleCertsUrl: string;
}

const marketplaceOf = (value: z.infer<typeof marketplaceSchema>): GcpMarketplaceConfig => ({
  providerId: value.GCP_PROVIDER_ID,
  procurementApiUrl: value.PROCUREMENT_API_URL,
  googleCertsUrl: value.GOOGLE_CERTS_URL,
});

export interface GcpEventsConfig extends CoreConfig {
  readonly marketplace: GcpMarketplaceConfig;
  readonly push: { readonly audience: string; readonly serviceAccount: string };
  readonly policy: ApprovalPolicy;
  readonly signupMessage: string;
}

const pushSchema = z.object({ PUSH_AUDIENCE: text, PUSH_SERVICE_ACCOUNT: text });

/** Configuration of `gcp/events`, read once at cold start. @throws ConfigError */
export const loadGcpEventsConfig = (env: Env = process.env): GcpEventsConfig => {
  const filled = withDefaults(env);
  return collect(
    [
      () => loadCoreConfig(filled, 'gcp'),
      () => parse(marketplaceSchema, filled),
      () => parse(pushSchema, filled),
      () => parse(policySchema, filled),
    ],
    () => {
      const push = parse(pushSchema, filled);
      return {
        ...loadCoreConfig(filled, 'gcp'),
        marketplace: marketplaceOf(parse(marketplaceSchema, filled)),
        push: { audience: push.PUSH_AUDIENCE, serviceAccount: push.PUSH_SERVICE_ACCOUNT },
        policy: policyOf(parse(policySchema, filled)),
        signupMessage: filled.SIGNUP_MESSAGE!,
      };
    },
  );
};

export interface GcpSignupConfig extends CoreConfig {
  readonly marketplace: GcpMarketplaceConfig;
  readonly productDomains: readonly string[];
  readonly policy: ApprovalPolicy;
  readonly signupMessage: string;
  readonly onboardingUrl: string;
  readonly handoff: { readonly secret: string; readonly ttlSeconds: number };
}

const signupSchema = handoffSchema.extend({ PRODUCT_DOMAINS: list });

/** Configuration of `gcp/signup`, read once at cold start. @throws ConfigError */
export const loadGcpSignupConfig = (env: Env = process.env): GcpSignupConfig => {
  const filled = withDefaults(env);
  return collect(
    [
      () => loadCoreConfig(filled, 'gcp'),
      () => parse(marketplaceSchema, filled),
      () => parse(signupSchema, filled),
      () => parse(policySchema, filled),
    ],
    () => {
      const signup = parse(signupSchema, filled);
      return {
        ...loadCoreConfig(filled, 'gcp'),
        marketplace: marketplaceOf(parse(marketplaceSchema, filled)),
        productDomains: signup.PRODUCT_DOMAINS,
        policy: policyOf(parse(policySchema, filled)),
        signupMessage: filled.SIGNUP_MESSAGE!,
        onboardingUrl: signup.ONBOARDING_URL,
        handoff: { secret: signup.HANDOFF_SECRET, ttlSeconds: signup.HANDOFF_TTL_SECONDS },
      };
    },
  );
};

export interface GcpUsageConfig extends CoreConfig {
  readonly serviceName: string;
  readonly serviceControlApiUrl: string;
  readonly googleCertsUrl: string;
  readonly metrics: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly scheduler: { readonly audience: string; readonly serviceAccount: string };
}

const usageSchema = z.object({
  USAGE_SERVICE_NAME: text,
  USAGE_METRICS: usageMetricsSchema,
  SERVICE_CONTROL_API_URL: url,
  GOOGLE_CERTS_URL: url,
  SCHEDULER_AUDIENCE: text,
  SCHEDULER_SERVICE_ACCOUNT: text,
});

/** Configuration of `gcp/usage-report`, read once at cold start. @throws ConfigError */
export const loadGcpUsageConfig = (env: Env = process.env): GcpUsageConfig => {
  const filled = withDefaults(env);
  return collect([() => loadCoreConfig(filled, 'gcp'), () => parse(usageSchema, filled)], () => {
    const usage = parse(usageSchema, filled);
    return {
      ...loadCoreConfig(filled, 'gcp'),
      serviceName: usage.USAGE_SERVICE_NAME,
      serviceControlApiUrl: usage.SERVICE_CONTROL_API_URL,
      googleCertsUrl: usage.GOOGLE_CERTS_URL,
      metrics: usage.USAGE_METRICS,
      scheduler: {
        audience: usage.SCHEDULER_AUDIENCE,
        serviceAccount: usage.SCHEDULER_SERVICE_ACCOUNT,
      },
    };
  });
};

export interface GcpScheduledConfig {
  readonly googleCertsUrl: string;
  /** Who may call a scheduled function: Cloud Scheduler's OIDC token must say so. */
  readonly scheduler: { readonly audience: string; readonly serviceAccount: string };
}

const scheduledSchema = usageSchema.pick({
  GOOGLE_CERTS_URL: true,
  SCHEDULER_AUDIENCE: true,
  SCHEDULER_SERVICE_ACCOUNT: true,
});

/** What every function Cloud Scheduler calls needs to check the caller. @throws ConfigError */
export const loadGcpScheduledConfig = (env: Env = process.env): GcpScheduledConfig => {
  const value = parse(scheduledSchema, withDefaults(env));
  return {
    googleCertsUrl: value.GOOGLE_CERTS_URL,
    scheduler: {
      audience: value.SCHEDULER_AUDIENCE,
      serviceAccount: value.SCHEDULER_SERVICE_ACCOUNT,
    },
  };
};
