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
} as const satisfies Record<string, EnvVarSpec>;

export type EnvVarName = keyof typeof ENV_VARS;
export const ENV_VAR_NAMES = Object.keys(ENV_VARS) as EnvVarName[];
