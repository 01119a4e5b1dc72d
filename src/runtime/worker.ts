/**
 * `npm run worker`: a webhook delivery worker alone, no HTTP server. Run any number of them
 * beside the API instances (set WEBHOOK_WORKER=off there to leave delivery to these).
 */
import type { Server } from 'node:http';
import { createApp } from '../app.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { metricsHandler } from '../http/metricsEndpoint.ts';
import { startWebhookWorker } from '../services/webhooks/worker.ts';
import { createFileStore } from './files.ts';
import { nodeNetwork } from './network.ts';
import { run } from './lifecycle.ts';
import { serveMetrics } from './nodeServer.ts';

await run('leasehold worker', async () => {
  const config = loadConfig();
  if (!config.databaseUrl) {
    // PGlite belongs to the one server process; in embedded mode that server's own worker delivers.
    throw new ConfigError('DATABASE_URL', 'npm run worker needs it (and REDIS_URL, so dashboards see its status changes)');
  }
  const app = await createApp(config, { files: createFileStore(config.dataDir), network: nodeNetwork, background: false });
  // A worker serves no API: its attempt counts reach Prometheus only through METRICS_PORT.
  let metrics: Server | undefined;
  try {
    if (config.metricsPort !== undefined)
      metrics = await serveMetrics(metricsHandler(app.metrics, config), config.metricsPort, config.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  const worker = startWebhookWorker(app.services);
  console.log(
    `Leasehold webhook worker started (database: ${app.mode.database}, ${config.webhookConcurrency} at once, ${config.webhookEndpointConcurrency} per endpoint, timeout ${config.webhookTimeoutMs} ms)`,
  );
  return {
    // An attempt in hand runs to its timeout; anything claimed but unsent would wait for its lease.
    graceMs: config.webhookTimeoutMs,
    async stop() {
      metrics?.close();
      await worker.stop();
      await app.close();
    },
  };
});
