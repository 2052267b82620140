/** Structured fields of one log line. Values are redacted by the logger, not by callers. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger bound to a correlation id. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (for example a new correlation id). */
  child(fields: LogFields): Logger;
}
