/** What a request carries: from the runtime adapter (ServerContext), and to every resolver (GraphQLContext). */
import type { Actor, ServiceContext } from '../services/context.ts';
import { RequestError } from '../services/errors.ts';
import type { Principal } from '../services/principals.ts';
import type { SeatRateLimit } from '../services/rateLimits.ts';

/**
 * What a runtime adapter passes along with each request. On Node, Yoga is the node:http listener
 * and puts Node's request (`req`) here; graphql-ws operations carry `remoteAddress`. Bun and Deno
 * hand Yoga the bare Request and leave its peer with `rememberPeer`: whatwg-node copies any
 * context given to `yoga.fetch` property by property onto a new object whose prototype is that
 * context, on every request, and every later read of the GraphQL context pays for it.
 */
export interface ServerContext {
  remoteAddress?: string | undefined;
  req?: { socket: { remoteAddress?: string | undefined } };
}

const requestPeers = new WeakMap<Request, string>();

/** Records the socket peer of a request that reaches Yoga with no server context (Bun, Deno). */
export function rememberPeer(request: Request, address: string | undefined): void {
  if (address) requestPeers.set(request, address);
}

/** The socket peer's address, however the runtime handed it over. */
export function peerAddress(request: Request, context: ServerContext): string | undefined {
  return context.remoteAddress ?? context.req?.socket.remoteAddress ?? requestPeers.get(request);
}

export interface GraphQLContext {
  services: ServiceContext;
  requestId: string;
  /** The address the request came from (trusted proxies resolved). */
  clientIp: string;
  /** null when the request carries no credential; seat operations need none. */
  principal: Principal | null;
  /** The principal as the audit log records it. */
  actor: Actor | null;
  /** Set by the rate-limit plugin when the seat operations take their license's tokens themselves. */
  seatRateLimit?: SeatRateLimit;
}

/** The caller of a field whose authScopes already demanded a credential. */
export function requireActor(ctx: GraphQLContext): Actor {
  if (!ctx.actor) throw new RequestError('UNAUTHENTICATED', 'This operation needs an Authorization: Bearer credential.');
  return ctx.actor;
}
