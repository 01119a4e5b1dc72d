/** What every resolver receives with a request: the services, who is calling and from where. */
import type { Actor, SeatCaller, ServiceContext } from '../services/context.ts';
import { RequestError } from '../services/errors.ts';
import type { Principal } from '../services/principals.ts';
import type { SeatRateLimit } from '../services/rateLimits.ts';

export interface GraphQLContext {
  services: ServiceContext;
  requestId: string;
  /** The address the request came from (trusted proxies resolved). */
  clientIp: string;
  /** The request's Origin header, when a browser sent one. */
  origin: string | null;
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

/** A seat operation's caller, as the seat service takes it. */
export function seatCaller(ctx: GraphQLContext): SeatCaller {
  return { requestId: ctx.requestId, clientIp: ctx.clientIp, origin: ctx.origin, rateLimit: ctx.seatRateLimit };
}
