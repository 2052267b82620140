import { z } from 'zod';
import { blankToUndefined, collect, parse } from './env-schema';
import type { Env } from './env-schema';
import { loadCoreConfig } from './load-config';
import type { CoreConfig } from './load-config';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionConfig extends CoreConfig {
  /** How long an ended purchase keeps its personal data. */
  readonly retentionMs: number;
}

const retentionSchema = z.object({
  PERSONAL_DATA_RETENTION_DAYS: z.preprocess(
    (value) => blankToUndefined(value) ?? '30',
    z.coerce.number().int('must be a whole number of days').min(0).max(3650),
  ),
});

/** Configuration of `vendor/retention`, read once at cold start. @throws ConfigError */
export const loadRetentionConfig = (
  env: Env = process.env,
  platform: 'aws' | 'gcp' = 'aws',
): RetentionConfig =>
  collect([() => loadCoreConfig(env, platform), () => parse(retentionSchema, env)], () => ({
    ...loadCoreConfig(env, platform),
    retentionMs: parse(retentionSchema, env).PERSONAL_DATA_RETENTION_DAYS * DAY_MS,
  }));
