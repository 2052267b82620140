import { z } from 'zod';
import { CLOUDS } from '../domain/model';
import type { Cloud, Entitlement } from '../domain/model';
import { HOUR_MS } from '../domain/time';
import { parse } from './env-schema';
import type { Env } from './env-schema';
import {
  meteringDimensionsSchema,
  meteringWindowHoursSchema,
  optionalUsageMetricsSchema,
} from './usage-env';

export interface UsageIngestConfig {
  /** The clouds whose purchases this deployment meters: usage for another's is refused. */
  readonly clouds: readonly Cloud[];
  /** How long after an hour its usage is still taken (and can still be billed). */
  readonly windowHours: number;
  /** The dimensions an entitlement bills: its plan's on Google, the listing's on AWS. */
  readonly knownDimensions: (entitlement: Entitlement) => ReadonlySet<string>;
  /** How long a usage id is remembered, so that a retry is answered as a duplicate. */
  readonly dedupeTtlSeconds: number;
}

const usageIngestSchema = z.object({
  USAGE_METRICS: optionalUsageMetricsSchema,
  METERING_DIMENSIONS: meteringDimensionsSchema,
  METERING_WINDOW_HOURS: meteringWindowHoursSchema,
});

const NONE: ReadonlySet<string> = new Set();

/**
 * What the vendor API needs to take usage in, read once at cold start from the variables the
 * metering functions read (`USAGE_METRICS`, `METERING_DIMENSIONS`, `METERING_WINDOW_HOURS`), so
 * that usage is taken exactly for the dimensions that are later sent. A cloud with none
 * configured takes no usage.
 *
 * @param clouds - the clouds this deployment meters: the platform's own, since only its
 *   metering function sends what is taken in.
 * @throws ConfigError naming every variable at fault.
 */
export const loadUsageIngestConfig = (
  env: Env = process.env,
  clouds: readonly Cloud[] = CLOUDS,
): UsageIngestConfig => {
  const value = parse(usageIngestSchema, env);
  const byPlan = new Map(
    Object.entries(value.USAGE_METRICS ?? {}).map(([plan, metrics]) => [
      plan,
      new Set(Object.keys(metrics)) as ReadonlySet<string>,
    ]),
  );
  const aws: ReadonlySet<string> = new Set(value.METERING_DIMENSIONS);
  return {
    clouds,
    windowHours: value.METERING_WINDOW_HOURS,
    knownDimensions: (entitlement) =>
      entitlement.cloud === 'aws'
        ? aws
        : entitlement.plan === null
          ? NONE
          : (byPlan.get(entitlement.plan) ?? NONE),
    // A record is taken while its hour is inside the window and the timestamp may run a little
    // ahead of our clock, so its id must outlive the window by that much: a retry of a record
    // that is still taken must find it and answer duplicate, never count it again.
    dedupeTtlSeconds: ((value.METERING_WINDOW_HOURS + 1) * HOUR_MS) / 1_000,
  };
};
