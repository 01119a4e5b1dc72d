/** Serves the app on Node: node:http for GraphQL over HTTP/SSE, ws for graphql-ws. */
import type { Server } from 'node:http';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { metricsHandler } from '../http/metricsEndpoint.ts';
import { startupBanner } from './banner.ts';
import { createFileStore } from './files.ts';
import { nodeNetwork } from './network.ts';
import { run } from './lifecycle.ts';
import { createNodeServer, nodeConnInfo, serveMetrics } from './nodeServer.ts';

await run('leasehold', async () => {
  const config = loadConfig();
  const app = await createApp(config, { files: createFileStore(config.dataDir), network: nodeNetwork, connInfo: nodeConnInfo });
  const http = createNodeServer(app);
  let metrics: Server | undefined;
  try {
    await http.listen(config.port, config.host);
    if (config.metricsPort !== undefined)
      metrics = await serveMetrics(metricsHandler(app.metrics, config), config.metricsPort, config.host);
  } catch (error) {
    await http.close();
    await app.close();
    throw error;
  }
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  console.log(startupBanner(app, config.host, port, `Node ${process.versions.node}`));
  return {
    graceMs: config.shutdownGraceMs,
    async stop() {
      metrics?.close();
      // Requests first, so the flushes in app.close() see every heartbeat they answered.
      await http.close(config.shutdownGraceMs);
      await app.close();
    },
  };
});
