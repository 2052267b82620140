/**
 * Every environment variable the project reads, defined once. serverless.yml, Terraform and
 * the README's configuration table are checked against this list by tests.
 */
export interface EnvVarSpec {
  readonly description: string;
  /** `null`: required wherever it applies. */
  readonly defaultValue: string | null;
  readonly readBy: string;
}

export const ENV_VARS = {
  STORE_BACKEND: {
    description: 'Where state lives: `dynamodb` or `firestore`.',
    defaultValue: '`dynamodb` on AWS, `firestore` on Google Cloud',
    readBy: 'every function',
  },
  TABLE_NAME: {
    description: 'The DynamoDB table (single-table design).',
    defaultValue: null,
    readBy: 'every function when `STORE_BACKEND=dynamodb`',
  },
  DYNAMODB_ENDPOINT: {
    description: 'DynamoDB endpoint override, for DynamoDB Local.',
    defaultValue: 'the AWS regional endpoint',
    readBy: 'every function when `STORE_BACKEND=dynamodb`',
  },
  AWS_REGION: {
    description: 'AWS region of the table and the marketplace clients (set by Lambda).',
    defaultValue: 'set by the Lambda runtime',
    readBy: 'AWS functions',
  },
  FIRESTORE_PROJECT_ID: {
    description: 'Google Cloud project of the Firestore database.',
    defaultValue: 'the project of the runtime credentials',
    readBy: 'every function when `STORE_BACKEND=firestore`',
  },
  FIRESTORE_DATABASE_ID: {
    description: 'Firestore database id.',
    defaultValue: '`(default)`',
    readBy: 'every function when `STORE_BACKEND=firestore`',
  },
  FIRESTORE_EMULATOR_HOST: {
    description: 'Firestore emulator `host:port`; read by the Firestore client itself.',
    defaultValue: 'unset (real Firestore)',
    readBy: 'every function when `STORE_BACKEND=firestore`',
  },
  EVENT_RETENTION_DAYS: {
    description:
      'How long inbound messages are kept for dedupe and audit before the TTL drops them.',
    defaultValue: '`365`',
    readBy: 'every function',
  },
  LOG_LEVEL: {
    description: 'Lowest level logged: `debug`, `info`, `warn` or `error`.',
    defaultValue: '`info`',
    readBy: 'every function',
  },
  GCP_PROVIDER_ID: {
    description: 'Your Partner Procurement provider id (`DEMO-<project>` in the codelab).',
    defaultValue: null,
    readBy: 'gcp/events, gcp/signup',
  },
  PROCUREMENT_API_URL: {
    description: 'Base URL of the Partner Procurement API; the simulator locally.',
    defaultValue: '`https://cloudcommerceprocurement.googleapis.com/`',
    readBy: 'gcp/events, gcp/signup',
  },
  SERVICE_CONTROL_API_URL: {
    description: 'Base URL of Service Control; the simulator locally.',
    defaultValue: '`https://servicecontrol.googleapis.com/`',
    readBy: 'gcp/usage-report',
  },
  GOOGLE_CERTS_URL: {
    description:
      "Base URL the signup JWT certificates and OIDC keys are fetched from; the simulator locally. The token `iss` must still be Google's.",
    defaultValue: '`https://www.googleapis.com`',
    readBy: 'gcp/events, gcp/signup, gcp/usage-report, gcp/webhooks, gcp/retention',
  },
  PUSH_AUDIENCE: {
    description: 'Audience of the OIDC token on Pub/Sub pushes (the events function URL).',
    defaultValue: null,
    readBy: 'gcp/events',
  },
  PUSH_SERVICE_ACCOUNT: {
    description: 'Email of the service account Pub/Sub signs pushes as.',
    defaultValue: null,
    readBy: 'gcp/events',
  },
  PRODUCT_DOMAINS: {
    description: 'Comma-separated product domains a signup JWT `aud` may name.',
    defaultValue: null,
    readBy: 'gcp/signup',
  },
  APPROVAL_POLICY: {
    description:
      'How purchases and plan changes are approved: `auto` (once the account signed up), `plans` (only plans in `APPROVAL_PLANS`, others rejected) or `manual`.',
    defaultValue: '`auto`',
    readBy: 'gcp/events, gcp/signup',
  },
  APPROVAL_PLANS: {
    description: 'Comma-separated plans approved under `APPROVAL_POLICY=plans`.',
    defaultValue: 'required when `APPROVAL_POLICY=plans`',
    readBy: 'gcp/events, gcp/signup',
  },
  SIGNUP_MESSAGE: {
    description: 'Shown to a buyer whose purchase waits for them to finish signing up.',
    defaultValue: '`Finish signing up with the vendor to activate this purchase.`',
    readBy: 'gcp/events, gcp/signup',
  },
  ONBOARDING_URL: {
    description: 'Your app page a signed-up buyer is sent to, with a handoff token.',
    defaultValue: null,
    readBy: 'gcp/signup, aws/signup',
  },
  HANDOFF_SECRET: {
    description: 'Secret (32+ characters) that signs the handoff token your app verifies.',
    defaultValue: null,
    readBy: 'gcp/signup, aws/signup',
  },
  HANDOFF_TTL_SECONDS: {
    description: 'How long a handoff token is valid.',
    defaultValue: '`300`',
    readBy: 'gcp/signup, aws/signup',
  },
  USAGE_SERVICE_NAME: {
    description:
      'Service Control service name of the listing (`<product>.gcpmarketplace.<domain>`).',
    defaultValue: null,
    readBy: 'gcp/usage-report',
  },
  USAGE_METRICS: {
    description:
      'JSON map plan → dimension → metric name, for example `{"pro":{"requests":"example.com/pro_requests"}}`.',
    defaultValue: null,
    readBy: 'gcp/usage-report, vendor/api',
  },
  SCHEDULER_AUDIENCE: {
    description:
      'Audience of the OIDC token Cloud Scheduler sends (the URL of the scheduled function itself).',
    defaultValue: null,
    readBy: 'gcp/usage-report, gcp/webhooks, gcp/retention',
  },
  SCHEDULER_SERVICE_ACCOUNT: {
    description: 'Email of the service account Cloud Scheduler signs as.',
    defaultValue: null,
    readBy: 'gcp/usage-report, gcp/webhooks, gcp/retention',
  },
  AWS_PRODUCT_CODE: {
    description: 'Product code of your AWS Marketplace SaaS listing.',
    defaultValue: null,
    readBy: 'aws/signup, aws/notifications, aws/metering',
  },
  AWS_MARKETPLACE_ENDPOINT: {
    description:
      'Endpoint override of the AWS Marketplace Metering and Entitlement services; the simulator locally.',
    defaultValue: 'the AWS endpoints (Entitlement Service in `us-east-1`)',
    readBy: 'aws/signup, aws/notifications, aws/metering',
  },
  SNS_TOPIC_ARNS: {
    description:
      'Comma-separated SNS topics whose signed messages are accepted (legacy listings: the subscription and entitlement topics of the product).',
    defaultValue: 'none: SNS-wrapped messages are refused',
    readBy: 'aws/notifications',
  },
  SNS_CERT_HOST: {
    description:
      'Host SNS signing certificates may come from, for the simulator only. Never set it in production.',
    defaultValue: '`sns.<region of the topic>.amazonaws.com` over https',
    readBy: 'aws/notifications',
  },
  METERING_DIMENSIONS: {
    description:
      'Comma-separated usage dimensions of the listing; each subscribed buyer gets a 0 record for an hour without usage.',
    defaultValue: 'none (no zero records)',
    readBy: 'aws/notifications, aws/metering, vendor/api',
  },
  METERING_ZERO_RECORDS: {
    description: 'Whether hours without usage are metered as 0 (`true` or `false`).',
    defaultValue: '`true`',
    readBy: 'aws/notifications, aws/metering',
  },
  METERING_RATE_PER_SECOND: {
    description: 'BatchMeterUsage calls a second at most (AWS quota: 10 per account and region).',
    defaultValue: '`10`',
    readBy: 'aws/notifications, aws/metering',
  },
  METERING_WINDOW_HOURS: {
    description:
      'How long after an hour AWS still accepts its records; the vendor API refuses usage older than this on either cloud.',
    defaultValue: '`24`',
    readBy: 'aws/notifications, aws/metering, vendor/api',
  },
  WEBHOOK_URLS: {
    description:
      "Comma-separated URLs of your app that receive the vendor events (POST, signed); `https` unless the host is the machine's own.",
    defaultValue: 'none: events wait in the outbox, readable through the vendor API',
    readBy: 'every function that writes, vendor/webhooks',
  },
  WEBHOOK_SECRETS: {
    description:
      'Comma-separated secrets (32+ characters) the webhooks are signed with, one `v1` signature each; list the new one first when rotating.',
    defaultValue: 'required when `WEBHOOK_URLS` is set',
    readBy: 'every function that writes, vendor/webhooks',
  },
  WEBHOOK_TIMEOUT_SECONDS: {
    description: 'How long one webhook delivery may take before it counts as failed.',
    defaultValue: '`10`',
    readBy: 'every function that writes, vendor/webhooks',
  },
  WEBHOOK_RETRY_HORIZON_HOURS: {
    description:
      'How long an undelivered event is retried (jittered exponential backoff) before it is marked failed; failed events can be replayed.',
    defaultValue: '`72`',
    readBy: 'every function that writes, vendor/webhooks',
  },
  VENDOR_API_KEYS: {
    description:
      'Comma-separated API keys of the vendor API, as `<key id>:<scope>[+<scope>]:<SHA-256 hex of the key>` with scopes `read`, `usage:write`, `admin`; `npm run api-key` makes one. Only hashes are stored.',
    defaultValue: null,
    readBy: 'vendor/api',
  },
  MAX_REQUEST_BYTES: {
    description:
      'Largest request body the vendor API reads; larger ones get 413. At most 4194304 on AWS (Lambda takes events up to 6 MB, the body inside escaped or base64) and 33554432 on Google Cloud (Cloud Run).',
    defaultValue: '`1048576`',
    readBy: 'vendor/api',
  },
  PERSONAL_DATA_RETENTION_DAYS: {
    description:
      "How long a cancelled or deleted purchase's personal data is kept before it is purged (an anonymised audit record stays). A deleted Google account is purged at once.",
    defaultValue: '`30`',
    readBy: 'vendor/retention',
  },
} as const satisfies Record<string, EnvVarSpec>;

export type EnvVarName = keyof typeof ENV_VARS;
export const ENV_VAR_NAMES = Object.keys(ENV_VARS) as EnvVarName[];
