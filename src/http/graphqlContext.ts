/** Builds each request's GraphQL context: its id, the client's address and who is calling. */
import type { GraphQLContext } from '../schema/context.ts';
import type { ServiceContext } from '../services/context.ts';
import type { Authenticator } from '../services/identity/authenticate.ts';
import { principalId } from '../services/principals.ts';
import { clientAddress, type ConnInfo, type ServerContext } from './clientAddress.ts';
import { requestIdOf } from './observability.ts';

type RequestContext = ServerContext & { request: Request; connectionParams?: Record<string, unknown> };

export function graphqlContext(services: ServiceContext, authenticator: Authenticator, connInfo: ConnInfo) {
  const { trustedProxies } = services.config;
  return async (serverContext: RequestContext): Promise<GraphQLContext> => {
    const { request, connectionParams } = serverContext;
    const requestId = requestIdOf(request);
    const clientIp = clientAddress(connInfo, trustedProxies, request, serverContext);
    // graphql-ws operations carry the credential in the connection_init payload, HTTP in the header.
    const authorization = connectionParams?.authorization ?? request.headers.get('authorization');
    const principal = await authenticator.authenticate(authorization, clientIp);
    const actor = principal && { type: principal.kind, id: principalId(principal), orgId: principal.orgId, requestId };
    const origin = request.headers.get('origin')?.slice(0, 256) ?? null;
    return { services, requestId, clientIp, origin, principal, actor };
  };
}
