/**
 * `npm run worker`: a webhook delivery worker alone, no HTTP server. Run any number of them
 * beside the API instances (set WEBHOOK_WORKER=off there to leave delivery to these).
 */
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { startWebhookWorker } from '../services/webhooks/worker.ts';
import { createFileStore } from './files.ts';

const config = loadConfig();
if (!config.databaseUrl) {
  // PGlite belongs to the one server process; in embedded mode that server's own worker delivers.
  console.error('npm run worker needs DATABASE_URL (and REDIS_URL, so dashboards see its status changes).');
  process.exit(2);
}
const app = await createApp(config, { files: createFileStore(config.dataDir), background: false });
const worker = startWebhookWorker(app.services);
console.log(
  `Leasehold webhook worker started (database: ${app.mode.database}, batch ${config.webhookBatchSize}, timeout ${config.webhookTimeoutMs} ms)`,
);

async function shutdown() {
  // The batch in hand is finished first; anything claimed but unsent would wait for its lease.
  await worker.stop();
  await app.close();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
