/** Serves the app on Node: node:http for GraphQL over HTTP/SSE, ws for graphql-ws. */
import { createServer } from 'node:http';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { startupBanner } from './banner.ts';
import { createFileStore } from './files.ts';
import { graphqlWsOptions } from './graphqlWs.ts';

const config = loadConfig();
const app = await createApp(config, { files: createFileStore(config.dataDir) });
const server = createServer(app.yoga);
const wss = new WebSocketServer({ server, path: '/graphql' });
const ws = useServer(
  graphqlWsOptions<Extra>(app, (extra) => extra.request.socket.remoteAddress),
  wss,
);

server.listen(config.port, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  console.log(startupBanner(app, `http://localhost:${port}`, `Node ${process.versions.node}`));
});

async function shutdown() {
  await ws.dispose();
  server.close();
  await app.close();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
