/** Serves the app on Deno: Deno.serve for GraphQL over HTTP/SSE, upgrading /graphql to graphql-ws. */
import { handleProtocols } from 'graphql-ws';
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, makeHandler, type Extra } from 'graphql-ws/use/deno';
import { createApp, type App } from '../app.ts';
import type { ConnInfo } from '../http/clientAddress.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { metricsHandler } from '../http/metricsEndpoint.ts';
import { startupBanner } from './banner.ts';
import { createFileStore } from './files.ts';
import { nodeNetwork } from './network.ts';
import { graphqlWsOptions } from './graphqlWs.ts';
import { run } from './lifecycle.ts';

function serve(app: App, config: Config, peers: WeakMap<Request, string>): Deno.HttpServer {
  // A Deno WebSocket does not know its peer; the upgrade request's connection info does.
  const remoteAddresses = new WeakMap<WebSocket, string>();
  const handleSocket = makeHandler(graphqlWsOptions<Extra>(app, (extra) => remoteAddresses.get(extra.socket)));
  const addressOf = (info: Deno.ServeHandlerInfo) => (info.remoteAddr.transport === 'tcp' ? info.remoteAddr.hostname : undefined);
  return Deno.serve(
    {
      port: config.port,
      ...(config.host ? { hostname: config.host } : {}),
      onListen: ({ port }) => console.log(startupBanner(app, config.host, port, `Deno ${Deno.version.deno}`)),
    },
    (request, info) => {
      // Read before any upgrade: once upgraded, the request is closed and remoteAddr throws.
      const remoteAddress = addressOf(info);
      if (request.headers.get('upgrade')?.toLowerCase() === 'websocket' && new URL(request.url).pathname === '/graphql') {
        if (!handleProtocols(request.headers.get('sec-websocket-protocol') ?? '')) {
          return new Response('Unsupported WebSocket subprotocol', { status: 400 });
        }
        // Pings every 12 s keep idle subscriptions alive through proxies and detect dead peers.
        const { socket, response } = Deno.upgradeWebSocket(request, { protocol: GRAPHQL_TRANSPORT_WS_PROTOCOL, idleTimeout: 12 });
        // Deno sends the negotiated subprotocol but leaves socket.protocol empty, which graphql-ws
        // would refuse with 4406 (enisdenjo/graphql-ws#587); the socket reports what was agreed.
        Object.defineProperty(socket, 'protocol', { value: GRAPHQL_TRANSPORT_WS_PROTOCOL });
        if (remoteAddress) remoteAddresses.set(socket, remoteAddress);
        handleSocket(socket);
        return response;
      }
      if (remoteAddress) peers.set(request, remoteAddress);
      return app.yoga.fetch(request);
    },
  );
}

await run('leasehold', async () => {
  const config = loadConfig();
  // Deno hands each request's peer to the handler only; Yoga gets the bare Request (see http/clientAddress.ts).
  const peers = new WeakMap<Request, string>();
  const connInfo: ConnInfo = { remoteAddress: (request) => peers.get(request) };
  const app = await createApp(config, { files: createFileStore(config.dataDir), network: nodeNetwork, connInfo });
  let server: Deno.HttpServer;
  let metrics: Deno.HttpServer | undefined;
  try {
    server = serve(app, config, peers);
    if (config.metricsPort !== undefined) {
      const options = { port: config.metricsPort, ...(config.host ? { hostname: config.host } : {}), onListen: () => {} };
      metrics = Deno.serve(options, metricsHandler(app.metrics, config));
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  return {
    graceMs: config.shutdownGraceMs,
    async stop() {
      // shutdown() lets requests in flight finish; past the grace their connections are cut.
      void metrics?.shutdown();
      const deadline = AbortSignal.timeout(config.shutdownGraceMs);
      await Promise.race([server.shutdown(), new Promise((resolve) => deadline.addEventListener('abort', resolve))]);
      await app.close();
    },
  };
});
