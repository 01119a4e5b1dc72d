/** Serves the app on Bun: Bun.serve for GraphQL over HTTP/SSE, upgrading /graphql to graphql-ws. */
import { handleProtocols, makeHandler, type Extra } from 'graphql-ws/use/bun';
import { createApp } from '../app.ts';
import type { ConnInfo } from '../http/clientAddress.ts';
import { loadConfig } from '../config/config.ts';
import { metricsHandler } from '../http/metricsEndpoint.ts';
import { startupBanner } from './banner.ts';
import { createFileStore } from './files.ts';
import { nodeNetwork } from './network.ts';
import { graphqlWsOptions } from './graphqlWs.ts';
import { run } from './lifecycle.ts';

await run('leasehold', async () => {
  const config = loadConfig();
  // Bun's server knows each request's peer; Yoga gets the bare Request (see http/clientAddress.ts).
  const connInfo: ConnInfo = { remoteAddress: (request) => server.requestIP(request)?.address };
  const app = await createApp(config, { files: createFileStore(config.dataDir), network: nodeNetwork, connInfo });

  const websocket = makeHandler(graphqlWsOptions<Extra>(app, (extra) => extra.socket.remoteAddress));
  // Bun's graceful stop waits for WebSockets too: they are told to go away (1001) first.
  const sockets = new Set<Bun.ServerWebSocket<undefined>>();
  let server: Bun.Server<undefined>;
  try {
    server = Bun.serve({
      port: config.port,
      ...(config.host ? { hostname: config.host } : {}),
      fetch(request, server) {
        if (request.headers.get('upgrade')?.toLowerCase() === 'websocket' && new URL(request.url).pathname === '/graphql') {
          // Bun does not expose the negotiated subprotocol on the socket, so it is checked here.
          if (!handleProtocols(request.headers.get('sec-websocket-protocol') ?? '')) {
            return new Response('Unsupported WebSocket subprotocol', { status: 400 });
          }
          return server.upgrade(request) ? undefined : new Response('WebSocket upgrade failed', { status: 400 });
        }
        return app.yoga.fetch(request);
      },
      websocket: {
        ...websocket,
        open(socket) {
          sockets.add(socket);
          return websocket.open?.(socket);
        },
        close(socket, code, reason) {
          sockets.delete(socket);
          return websocket.close?.(socket, code, reason);
        },
      },
    });
  } catch (error) {
    await app.close();
    throw error;
  }

  const metrics =
    config.metricsPort === undefined
      ? undefined
      : Bun.serve({
          port: config.metricsPort,
          ...(config.host ? { hostname: config.host } : {}),
          fetch: metricsHandler(app.metrics, config),
        });
  console.log(startupBanner(app, config.host, server.port ?? config.port, `Bun ${Bun.version}`));
  return {
    graceMs: config.shutdownGraceMs,
    async stop() {
      // Closing a socket ends its graphql-ws subscriptions through the handler's close(). stop(false)
      // lets requests in flight finish; past the grace, stop(true) cuts what is left.
      void metrics?.stop(true);
      for (const socket of sockets) socket.close(1001, 'Going away');
      const deadline = setTimeout(() => void server.stop(true), config.shutdownGraceMs);
      await server.stop(false);
      clearTimeout(deadline);
      await server.stop(true);
      await app.close();
    },
  };
});
