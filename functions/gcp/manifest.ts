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

/** Every function that writes tries to deliver the vendor events it wrote at once. */
const WEBHOOK_ENV: readonly EnvVarName[] = [
  'WEBHOOK_URLS',
  'WEBHOOK_SECRETS',
  'WEBHOOK_TIMEOUT_SECONDS',
  'WEBHOOK_RETRY_HORIZON_HOURS',
];

/** What a function Cloud Scheduler calls needs to check the OIDC token it comes with. */
const SCHEDULER_ENV: readonly EnvVarName[] = [
  'GOOGLE_CERTS_URL',
  'SCHEDULER_AUDIENCE',
  'SCHEDULER_SERVICE_ACCOUNT',
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
      ...WEBHOOK_ENV,
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
      ...WEBHOOK_ENV,
    ],
  },
  {
    name: 'usage-report',
    source: 'functions/gcp/usage-report.ts',
    entryPoints: ['gcpUsageReport'],
    env: [
      ...STORE_ENV,
      'SERVICE_CONTROL_API_URL',
      ...SCHEDULER_ENV,
      'USAGE_SERVICE_NAME',
      'USAGE_METRICS',
      ...WEBHOOK_ENV,
    ],
  },
  {
    name: 'vendor-api',
    source: 'functions/vendor/gcp-api.ts',
    // Public at the network level: it authenticates every request by its API key.
    entryPoints: ['gcpVendorApi'],
    env: [
      ...STORE_ENV,
      'VENDOR_API_KEYS',
      'MAX_REQUEST_BYTES',
      'USAGE_METRICS',
      'METERING_WINDOW_HOURS',
      ...WEBHOOK_ENV,
    ],
  },
  {
    name: 'webhooks',
    source: 'functions/vendor/gcp-webhooks.ts',
    // Every minute: delivers the events that are due (first tries, and retries after backoff).
    entryPoints: ['gcpWebhooks'],
    env: [...STORE_ENV, ...SCHEDULER_ENV, ...WEBHOOK_ENV],
  },
  {
    name: 'retention',
    source: 'functions/vendor/gcp-retention.ts',
    // Daily: purges the personal data of purchases that ended longer ago than the retention.
    entryPoints: ['gcpRetention'],
    env: [...STORE_ENV, ...SCHEDULER_ENV, 'PERSONAL_DATA_RETENTION_DAYS'],
  },
];
