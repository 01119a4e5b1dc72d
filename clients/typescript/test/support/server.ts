/**
 * The real Leasehold server for the SDK's tests: its own process on a fixed loopback port (so it
 * can be stopped and started again under the same URL), on the machine's Postgres and Redis,
 * and the operator's GraphQL calls a test needs to set licenses up and look at seats.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { freePort, START_TIMEOUT_MS } from '../../../../test/support/process.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_TOKEN = 'sdk-admin-token-0123456789abcdef';
const REPO = fileURLToPath(new URL('../../../..', import.meta.url));

export interface LeaseholdServer {
  url: string;
  /** Starts the server (again, if it was stopped) on the same port; resolves once /health answers. */
  start(): Promise<void>;
  /** Ends the server process (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** What the server printed, for a failing test's message. */
  output(): string;
  admin<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  createLicense(input: { maxSeats: number; maxMachines?: number; leaseSeconds?: number; tier?: string; features?: string[] }): Promise<{ id: string; key: string }>;
  /** Seats in use right now, as the server counts them. */
  seatsUsed(licenseId: string): Promise<number>;
  close(): Promise<void>;
}

export async function startLeasehold(env: Record<string, string> = {}): Promise<LeaseholdServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'leasehold-sdk-'));
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let output = '';

  async function start() {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const started = Date.now();
    child = spawn(join(REPO, 'node_modules/.bin/tsx'), ['src/runtime/node.ts'], {
      cwd: REPO,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL,
        REDIS_URL,
        DATA_DIR: dataDir,
        LEASEHOLD_ADMIN_TOKEN: ADMIN_TOKEN,
        LOG_LEVEL: 'warn',
        // The SDK sends nothing but its persisted operations; a server that refuses the rest proves it.
        ANONYMOUS_OPERATIONS: 'persisted',
        // Hundreds of SDK clients on one loopback address: the tests are not about rate limits.
        RATE_LIMITS: JSON.stringify({ anonymous: '1000000/min', user: '1000000/min', operator: '1000000/min', license: '1000000/min' }),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const current = child;
    current.stdout!.on('data', (chunk) => (output += chunk));
    current.stderr!.on('data', (chunk) => (output += chunk));
    exited = new Promise((resolve) => current.once('exit', resolve));
    while (Date.now() - started < START_TIMEOUT_MS) {
      if (current.exitCode !== null) throw new Error(`the server exited before serving:\n${output}`);
      if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the server did not answer /health within ${START_TIMEOUT_MS} ms:\n${output}`);
  }

  async function stop() {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async function admin<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    if (body.errors || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  await start();
  return {
    url,
    start,
    stop,
    output: () => output,
    admin,
    async createLicense(input) {
      const { createLicense } = await admin<{ createLicense: { __typename: string; key: string; license: { id: string } } }>(
        `mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
           __typename ... on LicenseCreated { key license { id } } ... on Error { code message } } }`,
        { input: { tier: 'pro', features: ['export'], ...input } },
      );
      if (createLicense.__typename !== 'LicenseCreated') throw new Error(`createLicense: ${JSON.stringify(createLicense)}`);
      return { id: createLicense.license.id, key: createLicense.key };
    },
    async seatsUsed(licenseId) {
      const { license } = await admin<{ license: { seats: { used: number } } }>(`query($id: ID!) { license(id: $id) { seats { used } } }`, {
        id: licenseId,
      });
      return license.seats.used;
    },
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One server for the suite: started before its first test, ended after its last. */
export function useLeasehold(env: Record<string, string> = {}): LeaseholdServer {
  let server: LeaseholdServer | undefined;
  beforeAll(async () => {
    server = await startLeasehold(env);
  }, START_TIMEOUT_MS + 30_000);
  afterAll(() => server?.close());
  // Tests read it after beforeAll has run; until then there is no server to talk to.
  return new Proxy({} as LeaseholdServer, {
    get(_, property: keyof LeaseholdServer) {
      if (!server) throw new Error('the Leasehold server is not started yet (use it inside a test)');
      return server[property];
    },
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
