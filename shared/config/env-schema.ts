import { z } from 'zod';
import { ConfigError } from '../domain/errors';

/** The environment a function reads its configuration from. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Empty strings count as unset: a blank line in a deploy file must not become a value. */
export const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
export const text = z.preprocess(
  blankToUndefined,
  z.string('is required').trim().min(1, 'is required'),
);
export const url = z.preprocess(blankToUndefined, z.url('must be a URL'));
export const list = z.preprocess(
  blankToUndefined,
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1, 'must list at least one value')),
);

/** A comma-separated list that may be unset or blank: then it is empty. */
export const optionalList = z.preprocess(
  (value) => blankToUndefined(value) ?? '',
  z.string().transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

/** An unset or blank variable becomes `fallback`; anything else must pass `schema`. */
export const withDefault = <T extends z.ZodType>(fallback: string, schema: T) =>
  z.preprocess((value) => blankToUndefined(value) ?? fallback, schema);

/** Where a signed-up buyer goes, and how the handoff token that goes with them is signed. */
export const handoffSchema = z.object({
  ONBOARDING_URL: url,
  HANDOFF_SECRET: z.preprocess(
    blankToUndefined,
    z.string().min(32, 'must be at least 32 characters'),
  ),
  HANDOFF_TTL_SECONDS: z.preprocess(
    (value) => blankToUndefined(value) ?? '300',
    z.coerce.number().int('must be a whole number').min(10).max(3600),
  ),
});

/** Parses `schema` and turns every issue into one `ConfigError` naming the variables. */
export const parse = <T extends z.ZodType>(schema: T, env: Env): z.infer<T> => {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? 'environment'),
      problem: issue.message,
    })),
  );
};

/** Runs every part so that one cold start names every variable at fault, then builds. */
export const collect = <T>(parts: Array<() => unknown>, build: () => T): T => {
  const problems = parts.flatMap((part) => {
    try {
      part();
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return build();
};
