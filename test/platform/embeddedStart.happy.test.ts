/**
 * `npm start` on an empty data directory: the first start makes an owner and an admin API key
 * that work at once, puts them in a 0600 file of the data directory rather than on stdout (a log
 * in production), listens on loopback only, and no page hands a credential out.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInOver, START_TIMEOUT_MS, startServer, stopServer, type Server } from '../support/process.ts';

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
  it('prints no secret, and the credentials file it names (0600) holds an API key and owner that work', async () => {
    const output = server.output();
    expect(output).toContain('database: pglite   seats: memory');
    expect(output).not.toMatch(/pk_live_|pk_test_/);
    const file = /their credentials: (\S+)/.exec(output)?.[1];
    expect(file).toBeDefined();
    expect(file!.startsWith(dataDir)).toBe(true);
    expect((await stat(file!)).mode & 0o777).toBe(0o600);
    const credentials = await readFile(file!, 'utf8');
    const apiKey = /API key: (pk_live_[A-Za-z0-9_-]{43})/.exec(credentials)?.[1];
    expect(apiKey).toBeDefined();
    const [, email, password] = /owner: +(\S+) \/ (\S+)/.exec(credentials)!;
    expect(output).not.toContain(password);
    expect(output).toContain(`admin token: generated into ${join(dataDir, 'admin-token')}`);
    expect(output).not.toContain((await readFile(join(dataDir, 'admin-token'), 'utf8')).trim());
    const viewer = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: '{ viewer { kind organizationId scopes } }' }),
    }).then((r) => r.json());
    expect(viewer.data.viewer.kind).toBe('apiKey');
    expect(viewer.data.viewer.scopes).toContain('licenses:write');

    expect(await signInOver(server.base, email!, password!)).toBe('SignedIn');
  });

  it('serves GraphiQL with no credential in it: the visitor enters the key', async () => {
    const page = await fetch(`${server.base}/graphql`, { headers: { accept: 'text/html' } }).then((r) => r.text());
    expect(page).not.toContain('pk_live_');
    expect(page).not.toMatch(/Bearer /);
    // Inlined, not loaded from a CDN: GraphiQL works with no internet.
    expect(page).not.toMatch(/<(script|link)[^>]+(src|href)=["']https?:/i);
  });

  it('listens on loopback only', async () => {
    const port = new URL(server.base).port;
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && !a.internal && a.family === 'IPv4');
    expect(outside, 'this machine has an address other than loopback').toBeDefined();
    const reached = await fetch(`http://${outside!.address}:${port}/health`).then(
      () => true,
      () => false,
    );
    expect(reached).toBe(false);
    expect(server.output()).toContain(`http://127.0.0.1:${port}/graphql`);
  });
});
