/** What every resolver receives: the services, the request id, and the authenticated caller. */
import type { Actor, ServiceContext } from '../services/context.ts';
import { RequestError } from '../services/errors.ts';

export interface GraphQLContext {
  services: ServiceContext;
  requestId: string;
  /** null when the request carries no credential; seat operations need none. */
  actor: Actor | null;
}

export function requireActor(ctx: GraphQLContext): Actor {
  if (!ctx.actor) throw new RequestError('UNAUTHENTICATED', 'This operation needs an Authorization: Bearer credential.');
  return ctx.actor;
}
