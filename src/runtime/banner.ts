/**
 * What every runtime prints at start: where to go, what the data lives in, and where the first
 * start's credentials are. Never a secret itself: stdout is a log in production, so generated
 * credentials stay in files of the data directory that only this user reads.
 */
import { join, resolve } from 'node:path';
import type { App } from '../app.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** The URL a person on this machine opens: the listening address, with loopback for "every interface". */
export function listeningUrl(host: string | undefined, port: number): string {
  const shown = !host || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

export function startupBanner(app: App, host: string | undefined, port: number, runtime: string): string {
  const { config } = app.services;
  const url = listeningUrl(host, port);
  const inDataDir = (name: string) => join(resolve(config.dataDir), name);
  const lines = [
    `Leasehold listening on ${url}/graphql (GraphiQL in a browser) on ${runtime}`,
    `  database: ${app.mode.database}   seats: ${app.mode.seats}   signer: ${app.mode.signer}`,
    `  metrics: ${
      config.metricsPort !== undefined
        ? `${listeningUrl(host, config.metricsPort)}/metrics${config.metricsToken ? ' (bearer METRICS_TOKEN)' : ''}`
        : config.metricsToken
          ? `${url}/metrics (bearer METRICS_TOKEN)`
          : 'off (set METRICS_TOKEN or METRICS_PORT)'
    }`,
  ];
  if (app.mode.seats === 'memory') {
    lines.push('  embedded mode: seats live in this process, so run one instance only (set DATABASE_URL and REDIS_URL to scale out)');
  }
  if (app.mode.database === 'pglite' && !LOOPBACK.test(host ?? '')) {
    lines.push(`  warning: HOST=${host ?? '(every interface)'} makes this embedded server reachable from other machines`);
  }
  if (app.generatedAdminToken) {
    lines.push(`  admin token: generated into ${inDataDir('admin-token')} (readable by this user only)`);
  }
  if (app.bootstrapped) {
    lines.push(`  first start: created organization ${app.bootstrapped.orgId} with an owner and an admin API key`);
    lines.push(
      app.firstStartFile
        ? `    their credentials: ${inDataDir(app.firstStartFile)} (readable by this user only; delete it once they are kept elsewhere)`
        : '    their credentials could not be written to the data directory: make an organization with `npm run cli -- bootstrap`',
    );
    lines.push(
      `    try:     curl -s ${url}/graphql -H "authorization: Bearer <API key>" -H 'content-type: application/json' -d '{"query":"{ viewer { kind organizationId scopes } }"}'`,
    );
  }
  return lines.join('\n');
}
