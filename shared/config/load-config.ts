import { z } from 'zod';
import { ConfigError } from '../domain/errors';
import type { EnvVarName } from './env';

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Empty strings count as unset: a blank line in a deploy file must not become a value. */
const optional = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
const required = z.string('is required').trim().min(1, 'is required');

const dynamoDbSchema = z.object({
  STORE_BACKEND: z.literal('dynamodb'),
  TABLE_NAME: required,
  DYNAMODB_ENDPOINT: optional.pipe(z.url('must be a URL').optional()),
  AWS_REGION: optional,
});

const firestoreSchema = z.object({
  STORE_BACKEND: z.literal('firestore'),
  FIRESTORE_PROJECT_ID: optional,
  FIRESTORE_DATABASE_ID: optional,
});

/** An unset or blank variable becomes `fallback`; anything else must pass `schema`. */
const withDefault = <T extends z.ZodType<unknown, string>>(fallback: string, schema: T) =>
  optional.transform((value) => value ?? fallback).pipe(schema);

const commonSchema = z.object({
  EVENT_RETENTION_DAYS: withDefault(
    '365',
    z.coerce.number<string>().int('must be a whole number of days').min(1).max(3650),
  ),
  LOG_LEVEL: withDefault('info', z.enum(LOG_LEVELS, 'must be debug, info, warn or error')),
});

export type StoreConfig =
  | { backend: 'dynamodb'; tableName: string; endpoint?: string; region?: string }
  | { backend: 'firestore'; projectId?: string; databaseId?: string };

export interface CoreConfig {
  readonly store: StoreConfig;
  readonly eventTtlSeconds: number;
  readonly logLevel: LogLevel;
}

const SECONDS_PER_DAY = 24 * 60 * 60;

/**
 * Reads and validates the configuration every function shares, once at cold start.
 *
 * @param platform - the cloud the function runs on; it picks the default store.
 * @throws ConfigError naming every variable that is missing or malformed.
 */
export const loadCoreConfig = (
  env: Env = process.env,
  platform: 'aws' | 'gcp' = 'aws',
): CoreConfig => {
  const backend = env.STORE_BACKEND?.trim() || (platform === 'aws' ? 'dynamodb' : 'firestore');
  const storeSchema = backend === 'firestore' ? firestoreSchema : dynamoDbSchema;
  const store = storeSchema.safeParse({ ...env, STORE_BACKEND: backend });
  const common = commonSchema.safeParse(env);
  const problems = [store, common].flatMap((result) =>
    result.success
      ? []
      : result.error.issues.map((issue) => ({
          variable: String(issue.path[0] ?? 'environment') as EnvVarName,
          problem:
            issue.path[0] === 'STORE_BACKEND' ? 'must be dynamodb or firestore' : issue.message,
        })),
  );
  if (problems.length > 0 || !store.success || !common.success) throw new ConfigError(problems);
  const s = store.data;
  return {
    store:
      s.STORE_BACKEND === 'dynamodb'
        ? {
            backend: 'dynamodb',
            tableName: s.TABLE_NAME,
            ...(s.DYNAMODB_ENDPOINT ? { endpoint: s.DYNAMODB_ENDPOINT } : {}),
            ...(s.AWS_REGION ? { region: s.AWS_REGION } : {}),
          }
        : {
            backend: 'firestore',
            ...(s.FIRESTORE_PROJECT_ID ? { projectId: s.FIRESTORE_PROJECT_ID } : {}),
            ...(s.FIRESTORE_DATABASE_ID ? { databaseId: s.FIRESTORE_DATABASE_ID } : {}),
          },
    eventTtlSeconds: common.data.EVENT_RETENTION_DAYS * SECONDS_PER_DAY,
    logLevel: common.data.LOG_LEVEL,
  };
};
