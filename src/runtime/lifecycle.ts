/**
 * How every entry point starts and stops, on Node, Bun and Deno alike (each has `process`).
 *
 * - A failure at start that the operator can fix (a bad or unreachable variable, a port in use,
 *   a data directory held by another process) prints one line naming it, with no stack, and
 *   exits 1. Anything else is a bug and prints its stack.
 * - SIGTERM or SIGINT runs the entry's `stop` once (stop accepting, let requests in flight
 *   finish, flush, close the stores) and exits 0. A second signal, or a stop that overruns its
 *   grace by STOP_MARGIN_MS, exits 1 at once: an operator's second Ctrl-C always works.
 */
import { ConfigError } from '../config/config.ts';

/** Time beyond the requests' grace for flushing buffers and closing the stores. */
const STOP_MARGIN_MS = 5_000;

export interface Running {
  /** How long `stop` lets requests in flight take. */
  graceMs: number;
  stop(): Promise<void>;
}

/** The one line an operator needs for a failure at start, or undefined for a bug. */
function startFailure(error: unknown): string | undefined {
  if (error instanceof ConfigError) return error.message;
  // Node's listen errors carry code and port; Bun's carry the code; Deno's name the error class.
  const { code, name, port } = error as { code?: string; name?: string; port?: number };
  const which = port === undefined ? 'the port' : `port ${port}`;
  if (code === 'EADDRINUSE' || name === 'AddrInUse') return `PORT: ${which} is already in use by another process`;
  if (code === 'EACCES' || name === 'PermissionDenied') return `PORT: no permission to listen on ${which}`;
  if (code === 'EADDRNOTAVAIL') return `HOST: this machine has no such address to listen on`;
  return undefined;
}

/** Prints what failed at start (one line, or a bug's stack) and exits 1. */
export function exitWithStartFailure(name: string, error: unknown): never {
  const line = startFailure(error);
  console.error(line ? `${name}: ${line}` : error);
  process.exit(1);
}

export async function run(name: string, start: () => Promise<Running>): Promise<void> {
  let running: Running;
  try {
    running = await start();
  } catch (error) {
    exitWithStartFailure(name, error);
  }
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) {
      console.error(`${name}: ${signal} again, exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    const overrun = setTimeout(() => {
      console.error(`${name}: did not stop within ${running.graceMs + STOP_MARGIN_MS} ms, exiting`);
      process.exit(1);
    }, running.graceMs + STOP_MARGIN_MS);
    running.stop().then(
      () => {
        clearTimeout(overrun);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`${name}: stopping failed`, error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}
