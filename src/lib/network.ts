/**
 * What the server asks of the network beyond serving its own HTTP: a receiver's name resolved,
 * a request sent to the one address that was checked, a socket to Postgres. A port, implemented
 * per runtime under src/runtime (as FileStore is), so nothing below the runtime layer names a
 * runtime's own modules.
 */

/** The addresses a host name resolves to (IPv4 and IPv6, as the resolver answers them). */
export type HostResolver = (hostname: string) => Promise<string[]>;

/** POSTs to `url` connecting to `address` (not to whatever the name resolves to now); no redirect is followed. */
export type PinnedPost = (url: URL, address: string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<Response>;

/** The part of a TCP or Unix socket the Postgres watchdog (db/availability.ts) looks at; postgres.js drives the rest. */
export interface DatabaseSocket {
  readonly bytesWritten: number;
  on(event: 'data', listener: () => void): unknown;
  once(event: 'error' | 'close', listener: (error?: Error) => void): unknown;
  destroy(error?: Error): unknown;
}

/** Opens a socket to Postgres, handed over while still connecting (postgres.js's `socket` option). */
export type ConnectSocket = (to: { host: string; port: number } | { path: string }) => DatabaseSocket;

export interface Network {
  resolveHost: HostResolver;
  postTo: PinnedPost;
  connectSocket: ConnectSocket;
}
