/** `npm start` on an empty data directory: the first start makes an admin API key that works at once, and no page hands it out. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT_MS, startServer, stopServer, type Server } from '../support/process.ts';

let dataDir: string;
let server: Server;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'leasehold-first-start-'));
  // No DATABASE_URL or REDIS_URL: the embedded default, as a new user runs it.
  const env = { ...process.env, DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' } as Record<string, string>;
  // What `npm start` runs: the build (npm test builds first).
  server = await startServer(['node', 'dist/runtime/node.js'], env);
}, START_TIMEOUT_MS + 10_000);
afterAll(async () => {
  await stopServer(server);
  await rm(dataDir, { recursive: true, force: true });
});

describe('the first embedded start', () => {
  it('prints an API key that reaches viewer with curl, and the owner it made can sign in', async () => {
    const output = server.output();
    expect(output).toContain('database: pglite   seats: memory');
    const apiKey = /API key: (pk_live_[A-Za-z0-9_-]{43})/.exec(output)?.[1];
    expect(apiKey).toBeDefined();
    const viewer = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: '{ viewer { kind organizationId scopes } }' }),
    }).then((r) => r.json());
    expect(viewer.data.viewer.kind).toBe('apiKey');
    expect(viewer.data.viewer.scopes).toContain('licenses:write');

    const [, email, password] = /owner: +(\S+) \/ (\S+)/.exec(output)!;
    const login = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `mutation($i: LoginInput!) { login(input: $i) { __typename } }`,
        variables: { i: { email, password } },
      }),
    }).then((r) => r.json());
    expect(login.data.login.__typename).toBe('SignedIn');
  });

  it('serves GraphiQL with no credential in it: the visitor enters the key', async () => {
    const page = await fetch(`${server.base}/graphql`, { headers: { accept: 'text/html' } }).then((r) => r.text());
    expect(page).not.toContain('pk_live_');
    expect(page).not.toMatch(/Bearer /);
    // Inlined, not loaded from a CDN: GraphiQL works with no internet.
    expect(page).not.toMatch(/<(script|link)[^>]+(src|href)=["']https?:/i);
  });
});
