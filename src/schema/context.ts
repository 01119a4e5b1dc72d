/** What a request carries: from the runtime adapter (ServerContext), and to every resolver (GraphQLContext). */
import type { Actor, ServiceContext } from '../services/context.ts';
import { RequestError } from '../services/errors.ts';
import type { Principal } from '../services/principals.ts';
import type { SeatRateLimit } from '../services/rateLimits.ts';

/**
 * What a runtime adapter passes along with each request (HTTP or WebSocket): the socket peer's
 * address, or on Node the request itself (Yoga as the node:http listener puts it there; passing
 * an address beside it would make whatwg-node merge the two contexts property by property on
 * every request).
 */
export interface ServerContext {
  remoteAddress?: string | undefined;
  req?: { socket: { remoteAddress?: string | undefined } };
}

/** The socket peer's address, however the runtime handed it over. */
export function peerAddress(context: ServerContext): string | undefined {
  return context.remoteAddress ?? context.req?.socket.remoteAddress;
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
