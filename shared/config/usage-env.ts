import { z } from 'zod';
import { blankToUndefined, optionalList, withDefault } from './env-schema';

/**
 * The variables that say which usage a deployment bills, parsed one way wherever they are read:
 * by the functions that send hours to the marketplaces and by the vendor API that takes usage in.
 */

/** plan → dimension → Service Control metric name. */
export type UsageMetricsMap = Readonly<Record<string, Readonly<Record<string, string>>>>;

const metricsJson = z
  .string('is required')
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().min(1),
      z.record(z.string().min(1), z.string().min(1)),
      'must map each plan to a map of dimension to metric name',
    ),
  );

/** `USAGE_METRICS` where Google usage is reported: required. */
export const usageMetricsSchema = z.preprocess(blankToUndefined, metricsJson);

/** `USAGE_METRICS` where it only names the dimensions usage may come in: unset means none. */
export const optionalUsageMetricsSchema = z.preprocess(blankToUndefined, metricsJson.optional());

/** `METERING_DIMENSIONS`: the AWS listing's usage dimensions; unset means none. */
export const meteringDimensionsSchema = optionalList;

/** `METERING_WINDOW_HOURS`: how long after an hour AWS still accepts its records. */
export const meteringWindowHoursSchema = withDefault(
  '24',
  z.coerce
    .number()
    .int('must be a whole number of hours')
    .min(2)
    .max(24 * 31),
);
