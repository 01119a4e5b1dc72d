/**
 * The app on node:http, for GraphQL over HTTP/SSE, with graphql-ws on the same path through
 * `ws`. Used by `npm start` (node.ts) and by the tests that talk to the app over real sockets.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import { ConfigError } from '../config/config.ts';
import type { ConnInfo } from '../http/clientAddress.ts';
import { graphqlWsOptions } from './graphqlWs.ts';

/** Yoga is the node:http listener, so Node's request (and its socket) is in the server context. */
export const nodeConnInfo: ConnInfo = {
  // A request whose socket is gone (the peer hung up mid-body) has no socket any more.
  remoteAddress: (_request, serverContext) => serverContext.req?.socket?.remoteAddress,
};

export interface NodeServer {
  server: Server;
  /** Resolves once bound; a bind failure (EADDRINUSE and the like) rejects instead of crashing. */
  listen(port: number, host?: string): Promise<void>;
  /**
   * Stops accepting, closes every WebSocket with 1001 (Going away), lets requests in flight
   * (bodies still arriving included) finish for up to `graceMs`, then cuts what is left.
   */
  close(graceMs?: number): Promise<void>;
}

export function createNodeServer(app: App): NodeServer {
  const server = createServer(app.yoga);
  // Upgrades are handed over by hand: attached to the server, ws would also take over (and
  // print) the server's own errors, such as a port in use.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    if (new URL(request.url ?? '/', 'http://upgrade').pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
  });
  const ws = useServer(
    graphqlWsOptions<Extra>(app, (extra) => extra.request.socket.remoteAddress),
    wss,
  );
  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    async close(graceMs = 0) {
      const closed = new Promise((resolve) => server.close(resolve));
      const sockets = [...wss.clients];
      await ws.dispose();
      // A keep-alive connection is idle between requests: close each as soon as its last answer is out.
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        // Upgraded sockets are no longer the HTTP server's to cut; a peer that never answered 1001 is dropped.
        for (const socket of sockets) socket.terminate();
      }, graceMs);
      await closed;
      clearInterval(idle);
      clearTimeout(deadline);
    },
  };
}

/**
 * METRICS_PORT on Node: a server of its own for the metrics handler (GET only, no body to read),
 * so scrapes never queue behind the API's requests and the port can stay off the public network.
 */
export async function serveMetrics(handle: (request: Request) => Promise<Response>, port: number, host?: string): Promise<Server> {
  const server = createServer((req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
    void handle(new Request(`http://metrics${req.url ?? '/'}`, { method: req.method, headers })).then(
      async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(req.method === 'HEAD' ? undefined : await response.text());
      },
      () => res.writeHead(500).end(),
    );
  });
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ConfigError(
      'METRICS_PORT',
      code === 'EADDRINUSE' ? `port ${port} is already in use by another process` : `cannot listen on port ${port} (${code})`,
    );
  }
  return server;
}
