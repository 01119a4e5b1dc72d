/**
 * The app on node:http, for GraphQL over HTTP/SSE, with graphql-ws on the same path through
 * `ws`. Used by `npm start` (node.ts) and by the tests that talk to the app over real sockets.
 */
import { createServer, type Server } from 'node:http';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import type { ConnInfo } from '../http/clientAddress.ts';
import { graphqlWsOptions } from './graphqlWs.ts';

/** Yoga is the node:http listener, so Node's request (and its socket) is in the server context. */
export const nodeConnInfo: ConnInfo = {
  // A request whose socket is gone (the peer hung up mid-body) has no socket any more.
  remoteAddress: (_request, serverContext) => serverContext.req?.socket?.remoteAddress,
};

export function createNodeServer(app: App): { server: Server; close(): Promise<void> } {
  const server = createServer(app.yoga);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const ws = useServer(
    graphqlWsOptions<Extra>(app, (extra) => extra.request.socket.remoteAddress),
    wss,
  );
  return {
    server,
    async close() {
      await ws.dispose();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
