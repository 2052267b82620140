import type { EnvVarName } from '../../shared/config/env';

/**
 * The Google Cloud functions as deployed: one source file each, the entry points it registers
 * with the Functions Framework, and the variables it reads. Terraform (`infra/gcp`) and the
 * bundler read this list; tests hold both to it.
 */
export interface GcpFunctionSpec {
  /** Deployed name suffix and bundle folder, `dist/gcp/<name>`. */
  readonly name: string;
  readonly source: string;
  readonly entryPoints: readonly string[];
  readonly env: readonly EnvVarName[];
}

const STORE_ENV: readonly EnvVarName[] = [
  'STORE_BACKEND',
  'FIRESTORE_PROJECT_ID',
  'FIRESTORE_DATABASE_ID',
  'EVENT_RETENTION_DAYS',
  'LOG_LEVEL',
];

export const GCP_FUNCTIONS: readonly GcpFunctionSpec[] = [
  {
    name: 'events',
    source: 'functions/gcp/events.ts',
    // The push subscription calls the HTTP entry point; Eventarc would call the CloudEvent one.
    entryPoints: ['gcpEventsPush', 'gcpEventsCloudEvent'],
    env: [
      ...STORE_ENV,
      'GCP_PROVIDER_ID',
      'PROCUREMENT_API_URL',
      'GOOGLE_CERTS_URL',
      'PUSH_AUDIENCE',
      'PUSH_SERVICE_ACCOUNT',
      'APPROVAL_POLICY',
      'APPROVAL_PLANS',
      'SIGNUP_MESSAGE',
    ],
  },
  {
    name: 'signup',
    source: 'functions/gcp/signup.ts',
    entryPoints: ['gcpSignup'],
    env: [
      ...STORE_ENV,
      'GCP_PROVIDER_ID',
      'PROCUREMENT_API_URL',
      'GOOGLE_CERTS_URL',
      'PRODUCT_DOMAINS',
      'APPROVAL_POLICY',
      'APPROVAL_PLANS',
      'SIGNUP_MESSAGE',
      'ONBOARDING_URL',
      'HANDOFF_SECRET',
      'HANDOFF_TTL_SECONDS',
    ],
  },
  {
    name: 'usage-report',
    source: 'functions/gcp/usage-report.ts',
    entryPoints: ['gcpUsageReport'],
    env: [
      ...STORE_ENV,
      'SERVICE_CONTROL_API_URL',
      'GOOGLE_CERTS_URL',
      'USAGE_SERVICE_NAME',
      'USAGE_METRICS',
      'SCHEDULER_AUDIENCE',
      'SCHEDULER_SERVICE_ACCOUNT',
    ],
  },
];
