import type { LogFields, Logger } from '../../ports/logger';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
// Cloud Logging reads `severity`; CloudWatch keeps the line as JSON either way.
const SEVERITY: Record<Level, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
};

const SECRET_KEY =
  /(email|token|secret|password|passwd|authorization|cookie|signature|api[-_]?key|credential|user_?identity)/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const MAX_DEPTH = 6;

/**
 * Removes secrets and personal data from anything about to be logged: values under
 * secret-looking keys, and emails, JWTs and bearer credentials anywhere in strings.
 */
export const redact = (value: unknown, depth = 0): unknown => {
  if (typeof value === 'string') {
    return value.replace(JWT, '[jwt]').replace(BEARER, '$1 [redacted]').replace(EMAIL, '[email]');
  }
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, depth + 1) };
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) ? '[redacted]' : redact(item, depth + 1),
    ]),
  );
};

export interface JsonLoggerOptions {
  readonly level?: Level;
  readonly fields?: LogFields;
  /** Where lines go; one JSON document per call. Standard output unless given. */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

/** A logger that prints one redacted JSON object per line. */
export const createJsonLogger = (options: JsonLoggerOptions = {}): Logger => {
  const minimum = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const bound = options.fields ?? {};
  const log =
    (level: Level) =>
    (message: string, fields: LogFields = {}): void => {
      if (RANK[level] < minimum) return;
      const line = {
        ...(redact({ ...bound, ...fields }) as Record<string, unknown>),
        level,
        severity: SEVERITY[level],
        message: redact(message),
        time: new Date(now()).toISOString(),
      };
      write(JSON.stringify(line));
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createJsonLogger({ ...options, fields: { ...bound, ...fields } }),
  };
};
