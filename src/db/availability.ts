/**
 * Failing fast while Postgres is away. postgres.js alone waits as long as TCP does: a query sent
 * into a network black hole hangs until the network heals, its reconnect waits grow to 20 s, and
 * queries queue behind connections that cannot connect. Three bounds, set up in db/client.ts:
 *
 * - Each connection's socket is watched: bytes sent and no byte back for `deadlineMs` destroy
 *   it (what TCP_USER_TIMEOUT would do, which Node cannot set), so postgres.js fails the queries
 *   on it and reconnects. The server's statement_timeout ends slow statements before that, so
 *   the watchdog only ever fires on a dead network.
 * - Connecting gives up after the deadline (postgres.js's connect_timeout), and reconnects wait
 *   at most RECONNECT_MAX_S.
 * - Once a connection could not be made or went silent, new queries fail at once instead of
 *   queueing behind a dead pool, while one probe every PROBE_MS finds out when Postgres answers.
 */
import { connect, type Socket } from 'node:net';

/** The longest wait between two attempts to reconnect. */
export const RECONNECT_MAX_S = 0.25;
const PROBE_MS = 200;

export class DatabaseUnavailable extends Error {
  constructor(cause: unknown) {
    super('Postgres is not answering', { cause });
    this.name = 'DatabaseUnavailable';
  }
}

export interface Availability {
  /** The error new queries fail with while Postgres is away; undefined while it answers. */
  down(): DatabaseUnavailable | undefined;
  /** postgres.js's `socket` option: a watched socket, connecting. */
  socket(options: { host: string[]; port: number[]; path?: string | false }): Socket;
  /** postgres.js's `backoff` option, in seconds. */
  backoff(retries: number): number;
  stop(): void;
}

/** `probe` asks Postgres something trivial past the fail-fast check (a `select 1`). */
export function availability(deadlineMs: number, probe: () => Promise<unknown>): Availability {
  let failure: DatabaseUnavailable | undefined;
  let stopped = false;
  let next = 0;

  const markDown = (cause: unknown) => {
    if (failure || stopped) return;
    failure = new DatabaseUnavailable(cause);
    void (async () => {
      while (failure && !stopped) {
        await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
        try {
          await probe();
          failure = undefined;
        } catch {
          // still away; the next probe follows
        }
      }
    })();
  };

  const watch = (socket: Socket) => {
    let answered = socket.bytesWritten;
    let waitingSince: number | undefined;
    socket.on('data', () => {
      answered = socket.bytesWritten;
      waitingSince = undefined;
    });
    const timer = setInterval(
      () => {
        if (socket.bytesWritten <= answered) return;
        waitingSince ??= performance.now();
        if (performance.now() - waitingSince < deadlineMs) return;
        const silent = new Error(`Postgres sent nothing for ${deadlineMs} ms after a request`);
        markDown(silent);
        socket.destroy(silent);
      },
      Math.max(20, deadlineMs / 10),
    );
    timer.unref();
    socket.once('close', () => clearInterval(timer));
  };

  return {
    down: () => failure,
    socket: ({ host, port, path }) => {
      // Several hosts (a list in DATABASE_URL) are tried in turn, as postgres.js does itself.
      const index = next++ % host.length;
      // Handed over while still connecting, as postgres.js does with its own sockets: its
      // connect_timeout and its error and close handlers then cover a failed connect too (a
      // factory that rejected would leave its pool slot stuck).
      const socket = path ? connect({ path }) : connect({ host: host[index]!, port: port[index] ?? port[0]!, noDelay: true });
      socket.once('error', markDown);
      watch(socket);
      return socket;
    },
    backoff: (retries) => Math.min(0.01 * 2 ** retries, RECONNECT_MAX_S),
    stop() {
      stopped = true;
    },
  };
}
