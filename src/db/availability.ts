/**
 * Failing fast while Postgres is away. postgres.js alone waits as long as TCP does: a query sent
 * into a network black hole hangs until the network heals, its reconnect waits grow to 20 s, and
 * queries queue behind connections that cannot connect. Three bounds, set up in db/client.ts:
 *
 * - Each connection's socket is watched: bytes sent and none back for `deadlineMs` make it
 *   suspect, and a fresh connection asks Postgres `select 1` within the same deadline. No answer
 *   means the network or the server is gone: the silent sockets are destroyed, so postgres.js
 *   fails their queries and reconnects (what TCP_USER_TIMEOUT would do, which Node cannot set).
 *   An answer means a statement is merely slow (a lock wait), and it goes on.
 * - Connecting gives up after the deadline (postgres.js's connect_timeout), and reconnects wait
 *   at most RECONNECT_MAX_S.
 * - Once Postgres is found away, new queries fail at once instead of queueing behind a dead
 *   pool, while the same check every PROBE_MS finds out when it answers again.
 */
import type { ConnectSocket, DatabaseSocket } from '../lib/network.ts';

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
  socket(options: { host: string[]; port: number[]; path?: string | false }): DatabaseSocket;
  /** postgres.js's `backoff` option, in seconds. */
  backoff(retries: number): number;
  stop(): void;
}

/**
 * `check` asks Postgres something trivial on a fresh connection, rejecting after about
 * `deadlineMs`; `connect` opens the runtime's sockets (lib/network.ts).
 */
export function availability(deadlineMs: number, check: () => Promise<unknown>, connect: ConnectSocket): Availability {
  let failure: DatabaseUnavailable | undefined;
  let stopped = false;
  let next = 0;
  let checking: Promise<boolean> | undefined;

  /** One check at a time, however many sockets are suspect; answers whether Postgres answered. */
  const answers = () =>
    (checking ??= check().then(
      () => true,
      () => false,
    ).finally(() => (checking = undefined)));

  const markDown = (cause: unknown) => {
    if (failure || stopped) return;
    failure = new DatabaseUnavailable(cause);
    void (async () => {
      while (failure && !stopped) {
        await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
        if (await answers()) failure = undefined;
      }
    })();
  };

  const watch = (socket: DatabaseSocket) => {
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
        waitingSince = Infinity; // suspect: no second check while this one runs
        void answers().then((alive) => {
          if (alive) {
            waitingSince = performance.now();
            return;
          }
          const silent = new Error(`Postgres sent nothing for ${deadlineMs} ms after a request and answers no new connection`);
          markDown(silent);
          socket.destroy(silent);
        });
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
      const socket = path ? connect({ path }) : connect({ host: host[index]!, port: port[index] ?? port[0]! });
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
