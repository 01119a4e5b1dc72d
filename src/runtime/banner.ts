/** What every runtime prints at start: where to go, and what the data lives in. */
import type { App } from '../app.ts';

export function startupBanner(app: App, url: string, runtime: string): string {
  const lines = [
    `Leasehold listening on ${url}/graphql (GraphiQL in a browser) on ${runtime}`,
    `  database: ${app.mode.database}   seats: ${app.mode.seats}   signer: ${app.mode.signer}`,
  ];
  if (app.mode.seats === 'memory') {
    lines.push('  embedded mode: seats live in this process, so run one instance only (set DATABASE_URL and REDIS_URL to scale out)');
  }
  if (app.generatedAdminToken) {
    lines.push(`  admin token (shown once, stored in the data directory): ${app.generatedAdminToken}`);
  }
  if (app.bootstrapped) {
    const b = app.bootstrapped;
    lines.push(
      `  first start: created organization ${b.orgId} (shown once, stored only as hashes)`,
      `    owner:   ${b.ownerEmail} / ${b.ownerPassword}`,
      `    API key: ${b.apiKey}`,
      `    try:     curl -s localhost:${new URL(url).port}/graphql -H 'authorization: Bearer ${b.apiKey}' -H 'content-type: application/json' -d '{"query":"{ viewer { kind organizationId scopes } }"}'`,
    );
  }
  return lines.join('\n');
}
