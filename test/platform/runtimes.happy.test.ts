/**
 * The same server on Node, Bun and Deno: each runtime adapter is started as its own process
 * against the machine's Postgres and Redis, and one client session runs against each. Node runs
 * twice where the machine's own differs from the LTS that package.json installs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { START_TIMEOUT_MS, startServer, stopServer, type Server } from '../support/process.ts';
import { collect, viewerKind, wsClient } from '../support/server.ts';

// As test/support/harness.ts has them; not imported from there, which would load the whole app
// into this process when only the children need it.
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_TOKEN = 'smoke-admin-token-0123456789abcdef';
const METRICS_TOKEN = 'smoke-metrics-token-0123456789abcdef';

/** The machine's own `node`: the first on PATH outside node_modules/.bin (where npm puts the package's). */
function systemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.endsWith(join('node_modules', '.bin'))) continue;
    const candidate = join(dir, 'node');
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}

const nodeVersion = (binary: string) => execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
// The Node LTS that package.json installs (the `node` package's binary), and the machine's own
// when it is another one: what `npm start` runs, and what `node dist/runtime/node.js` runs.
const NPM_NODE = realpathSync('node_modules/node/bin/node');
const nodes = [NPM_NODE, systemNode()].filter((binary, i, all): binary is string => !!binary && all.indexOf(binary) === i);

const runtimes: [runtime: string, command: string[]][] = [
  ...nodes.map((binary): [string, string[]] => [`Node ${nodeVersion(binary)}`, [binary, 'dist/runtime/node.js']]),
  ['Bun', ['node_modules/.bin/bun', 'src/runtime/bun.ts']],
  ['Deno', ['node_modules/.bin/deno', 'run', '-A', 'src/runtime/deno.ts']],
];

async function graphql(base: string, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data!;
}

const CREATE_LICENSE = `mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  __typename ... on LicenseCreated { key license { id } } ... on Error { code message } } }`;
const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename ... on SeatGranted { session { id } lease { token } } ... on Error { code message } } }`;
const HEARTBEAT = `mutation($input: HeartbeatSeatInput!) { heartbeatSeat(input: $input) {
  __typename ... on SeatRenewed { lease { token expiresAt } } ... on Error { code message } } }`;
const RELEASE = `mutation($input: ReleaseSeatInput!) { releaseSeat(input: $input) {
  __typename ... on SeatReleased { seats { used } } ... on Error { code message } } }`;
const SEAT_COUNT = `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used max } }`;
const CREATE_API_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on ApiKeyCreated { secret } ... on Error { code message } } }`;

describe.each(runtimes)('the server on %s', (runtime, command) => {
  let dataDir: string;
  let server: Server | undefined;
  const leaseTokens: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), `leasehold-${runtime.split(' ')[0]!.toLowerCase()}-`));
    server = await startServer(command, { DATABASE_URL, REDIS_URL, LEASEHOLD_ADMIN_TOKEN: ADMIN_TOKEN, METRICS_TOKEN, DATA_DIR: dataDir });
    console.info(`${runtime} answered /health ${server.startedInMs} ms after spawn`);
  }, START_TIMEOUT_MS + 10_000);

  // What the server printed (stack traces included) is the first thing to read when a test fails.
  beforeEach(({ onTestFailed }) => onTestFailed(() => console.error(`${runtime} server output:\n${server?.output()}`)));

  afterAll(async () => {
    if (server) await stopServer(server);
    await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('streams the seat count over graphql-ws while a seat is acquired, renewed and released', async () => {
    const { base } = server!;
    const created = (await graphql(base, CREATE_LICENSE, { input: { tier: 'pro', features: ['export'], maxSeats: 2 } }, ADMIN_TOKEN))
      .createLicense;
    expect(created.__typename).toBe('LicenseCreated');
    const { key, license } = created as { key: string; license: { id: string } };

    const client = wsClient(`${base.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    const feed = collect<{ seatCountChanged: { used: number; max: number } }>(client, SEAT_COUNT, { id: license.id });
    try {
      expect((await feed.until(1))[0]!.seatCountChanged).toEqual({ used: 0, max: 2 });

      const granted = (await graphql(base, ACQUIRE, { input: { licenseKey: key, fingerprint: `smoke-${runtime}` } })).acquireSeat;
      expect(granted.__typename).toBe('SeatGranted');
      leaseTokens.push(granted.lease.token);
      expect((await feed.until(2))[1]!.seatCountChanged).toEqual({ used: 1, max: 2 });

      const renewed = (await graphql(base, HEARTBEAT, { input: { licenseKey: key, sessionId: granted.session.id } })).heartbeatSeat;
      expect(renewed.__typename).toBe('SeatRenewed');
      expect(new Date(renewed.lease.expiresAt).getTime()).toBeGreaterThan(Date.now());
      leaseTokens.push(renewed.lease.token);

      const released = (await graphql(base, RELEASE, { input: { licenseKey: key, sessionId: granted.session.id } })).releaseSeat;
      expect(released).toEqual({ __typename: 'SeatReleased', seats: { used: 0 } });
      const events = await feed.until(3);
      expect(events.map((event) => event.seatCountChanged.used)).toEqual([0, 1, 0]);
    } finally {
      feed.dispose();
      await client.dispose();
    }
  });

  it('signs lease tokens that verify against its published JWKS', async () => {
    expect(leaseTokens).toHaveLength(2);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', server!.base));
    for (const token of leaseTokens) {
      const { payload } = await jwtVerify(token, jwks, { issuer: 'leasehold' });
      expect(payload).toMatchObject({ fp: `smoke-${runtime}`, tier: 'pro' });
    }
  });

  it("checks an API key's address allowlist against the client's socket address", async () => {
    const { base } = server!;
    const createKey = async (ipAllowlist: string[]) => {
      const input = { name: `smoke-${ipAllowlist[0]}`, environment: 'LIVE', scopes: ['licenses:read'], ipAllowlist };
      return (await graphql(base, CREATE_API_KEY, { input }, ADMIN_TOKEN)).createApiKey.secret as string;
    };
    expect(await viewerKind(base, await createKey(['127.0.0.1/32']))).toBe('apiKey');
    expect(await viewerKind(base, await createKey(['10.0.0.0/8']))).toBe('IP_NOT_ALLOWED');
  });

  it('reports the seat operations it answered and its process on /metrics', async () => {
    const response = await fetch(`${server!.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const [operation, outcome] of [
      ['acquire', 'granted'],
      ['heartbeat', 'renewed'],
      ['release', 'released'],
    ]) {
      expect(text).toContain(`leasehold_seat_operations_total{operation="${operation}",outcome="${outcome}",code="none"} 1`);
    }
    expect(text).toMatch(/^process_resident_memory_bytes [1-9]/m);
    expect(text).toContain('leasehold_store_up{store="postgres"} 1');
  });

  it('closes open subscriptions and exits with status 0 on SIGTERM', async () => {
    const { base } = server!;
    const created = (await graphql(base, CREATE_LICENSE, { input: { tier: 'pro', features: [], maxSeats: 1 } }, ADMIN_TOKEN)).createLicense;
    const client = wsClient(`${base.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    const feed = collect<{ seatCountChanged: { used: number } }>(client, SEAT_COUNT, { id: created.license.id });
    await feed.until(1);
    const code = await stopServer(server!);
    expect(code, server!.output()).toBe(0);
    await expect(feed.until(2)).rejects.toThrow(/subscription failed/);
    await client.dispose();
  });
});
