/** One-line JSON logs. Callers never pass secrets: keys and tokens are not log fields. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;

const ORDER: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(level: LogLevel | 'silent'): Logger {
  const at = (l: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    const line = JSON.stringify({ level: l, time: new Date().toISOString(), message, ...fields });
    (l === 'error' || l === 'warn' ? console.error : console.log)(line);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
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
