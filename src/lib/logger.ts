/**
 * One-line JSON logs through pino, at LOG_LEVEL. Callers never pass secrets: keys and tokens are
 * not log fields. Each line carries `level` as a name, `time` in ISO 8601 and `message`.
 */
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;

/** `to` replaces stdout (tests read the lines a server writes). */
export function createLogger(level: LogLevel | 'silent', to?: DestinationStream): Logger {
  const base = pino(
    {
      level,
      base: undefined,
      messageKey: 'message',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    to,
  );
  return {
    debug: (message, fields) => base.debug(fields ?? {}, message),
    info: (message, fields) => base.info(fields ?? {}, message),
    warn: (message, fields) => base.warn(fields ?? {}, message),
    error: (message, fields) => base.error(fields ?? {}, message),
  };
}

/**
 * An error as a log line may hold it: the innermost cause's name, SQLSTATE (if any) and message.
 * A query builder's error wraps the driver's with the whole statement and its parameters (license
 * keys' hashes, fingerprints, emails), which never go to a log.
 */
export function describeError(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  if (!(inner instanceof Error)) return String(inner);
  const code = (inner as { code?: unknown }).code;
  return `${inner.name}${typeof code === 'string' ? ` ${code}` : ''}: ${inner.message}`;
}

/** `describeError` and the stack's frames (only its `at …` lines: the message above them may hold a statement). */
export function errorFields(error: unknown): { error: string; stack?: string } {
  const frames = error instanceof Error ? error.stack?.split('\n').filter((line) => /^\s+at /.test(line)) : undefined;
  return { error: describeError(error), ...(frames?.length ? { stack: frames.join('\n') } : {}) };
}
