/** Serves the app on Node: node:http for GraphQL over HTTP/SSE, ws for graphql-ws. */
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { startupBanner } from './banner.ts';
import { createFileStore } from './files.ts';
import { createNodeServer, nodeConnInfo } from './nodeServer.ts';

const config = loadConfig();
const app = await createApp(config, { files: createFileStore(config.dataDir), connInfo: nodeConnInfo });
const { server, close } = createNodeServer(app);

server.listen(config.port, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  console.log(startupBanner(app, `http://localhost:${port}`, `Node ${process.versions.node}`));
});

async function shutdown() {
  await close();
  await app.close();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
