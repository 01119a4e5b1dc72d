/**
 * Operator commands:
 * - `npm run cli -- bootstrap [--name <organization>] [--owner <email>]` makes an organization
 *   with its owner and an admin API key and prints them once.
 * - `npm run cli -- rewrap [--batch <n>]` seals every stored webhook secret again under the key
 *   that wraps new data keys (after a rotation of WEBHOOK_SECRET_KEY or the KMS key), and prints
 *   counts: never a secret. Safe while servers run on the same database; run it again at will.
 */
import { parseArgs } from 'node:util';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { bootstrapOrganization } from '../services/identity/bootstrap.ts';
import { rewrapWebhookSecrets } from '../services/webhooks/rewrap.ts';
import { createFileStore } from './files.ts';
import { nodeNetwork } from './network.ts';
import { exitWithStartFailure } from './lifecycle.ts';

const USAGE = 'usage: npm run cli -- bootstrap [--name <organization>] [--owner <email>]\n       npm run cli -- rewrap [--batch <n>]';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string', default: 'New organization' },
    owner: { type: 'string' },
    batch: { type: 'string', default: '100' },
  },
});

const [command] = positionals;
const batchSize = Number(values.batch);
if ((command !== 'bootstrap' && command !== 'rewrap') || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
  console.error(USAGE);
  process.exit(2);
}

try {
  const config = loadConfig();
  const app = await createApp(config, { files: createFileStore(config.dataDir), network: nodeNetwork, background: false });
  try {
    if (command === 'bootstrap') {
      const made = await bootstrapOrganization(app.services, {
        name: values.name!,
        ownerEmail: values.owner ?? `owner+${Date.now()}@leasehold.local`,
      });
      console.log(`organization: ${made.orgId}\nowner:        ${made.ownerEmail} / ${made.ownerPassword}\nAPI key:      ${made.apiKey}`);
    } else {
      const counts = await rewrapWebhookSecrets(app.services, { batchSize });
      const moved = Object.entries(counts.rewrapped)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([keyId, n]) => `${n} from ${keyId}`);
      console.log(
        [
          `rewrap: ${counts.endpoints} webhook endpoints, current key ${counts.keyId}`,
          `  re-encrypted:      ${moved.length ? moved.join(', ') : 'none'}`,
          `  already current:   ${counts.alreadyCurrent}`,
          `  changed meanwhile: ${counts.changedMeanwhile}${counts.changedMeanwhile ? ' (rotated or deleted while this ran; run rewrap again)' : ''}`,
          `  failed:            ${counts.failed.length}`,
          ...counts.failed.map((f) => `    ${f.endpointId} (${f.slot} secret) ${f.reason}`),
        ].join('\n'),
      );
      if (counts.failed.length > 0) process.exitCode = 1;
    }
  } finally {
    await app.close();
  }
} catch (error) {
  // A variable, a store, or a data directory held by the running server: one line, as the server says it.
  exitWithStartFailure('leasehold cli', error);
}
