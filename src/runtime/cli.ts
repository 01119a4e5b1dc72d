/**
 * Operator commands: `npm run cli -- bootstrap [--name <organization>] [--owner <email>]` makes
 * an organization with its owner and an admin API key and prints them once.
 */
import { parseArgs } from 'node:util';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { bootstrapOrganization } from '../services/identity/bootstrap.ts';
import { createFileStore } from './files.ts';
import { exitWithStartFailure } from './lifecycle.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string', default: 'New organization' }, owner: { type: 'string' } },
});

const [command] = positionals;
if (command !== 'bootstrap') {
  console.error('usage: npm run cli -- bootstrap [--name <organization>] [--owner <email>]');
  process.exit(2);
}

try {
  const config = loadConfig();
  const app = await createApp(config, { files: createFileStore(config.dataDir), background: false });
  try {
    const made = await bootstrapOrganization(app.services, {
      name: values.name!,
      ownerEmail: values.owner ?? `owner+${Date.now()}@leasehold.local`,
    });
    console.log(`organization: ${made.orgId}\nowner:        ${made.ownerEmail} / ${made.ownerPassword}\nAPI key:      ${made.apiKey}`);
  } finally {
    await app.close();
  }
} catch (error) {
  // A variable, a store, or a data directory held by the running server: one line, as the server says it.
  exitWithStartFailure('leasehold cli', error);
}
