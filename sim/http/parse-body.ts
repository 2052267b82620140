import type { z } from 'zod';
import { simError } from './http-error';
import type { SimRequest } from './types';

/** The JSON body checked against a schema; an empty body counts as `{}`. Bad input is a 400. */
export const parseBody = async <T>(request: SimRequest, schema: z.ZodType<T>): Promise<T> => {
  const result = schema.safeParse((await request.json()) ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  );
  throw simError(400, `invalid body: ${problems.join('; ')}`);
};
