/**
 * Where a request comes from. The socket peer is known to the runtime only, so each runtime
 * implements the small `ConnInfo` port once (src/runtime/*.ts; Hono's `conninfo` adapters are
 * the model); `clientAddress` is the one reading of it, shared by the GraphQL context and the
 * rate limiter, with the trusted proxies' X-Forwarded-For applied.
 */
import { clientIpFrom } from '../lib/ipAddress.ts';

/**
 * What a runtime adapter hands Yoga with a request. GraphQL over WebSocket, and callers of
 * `yoga.fetch` in process, put the peer in `remoteAddress`; on Node, Yoga is the node:http
 * listener and puts Node's request in `req`; Bun and Deno hand over nothing (any context given
 * to `yoga.fetch` is copied property by property onto each request's context, which every later
 * read of the GraphQL context pays for), and their ports find the peer themselves.
 */
export interface ServerContext {
  remoteAddress?: string | undefined;
  req?: { socket: { remoteAddress?: string | undefined } | null };
}

export interface ConnInfo {
  /** The socket peer's address of a request that carries no `remoteAddress`. */
  remoteAddress(request: Request, serverContext: ServerContext): string | undefined;
}

/** For apps that only ever see requests carrying `remoteAddress` (tests, the CLI, the worker). */
export const inProcessConnInfo: ConnInfo = { remoteAddress: () => undefined };

export function clientAddress(connInfo: ConnInfo, trustedProxies: string[], request: Request, serverContext: ServerContext): string {
  const peer = serverContext.remoteAddress ?? connInfo.remoteAddress(request, serverContext) ?? '';
  return clientIpFrom(peer, request.headers.get('x-forwarded-for'), trustedProxies);
}
