/**
 * What every bench run sets up: a database of its own (so the bench neither sees nor disturbs
 * the test database), the app and the two floors as child processes, and a seeded license with
 * live sessions that the heartbeat lanes renew. The floors renew the same leases as the app:
 * the license is loaded into Redis (lh:{<licenseId>}:*) by the app's acquires.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { commandFor, startServer, type Runtime, type Server } from './servers.ts';
import { BENCH_LICENSE_LIMIT } from './floors/licenseLimit.ts';

export const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// One per run (and per app of the run): a second bench on the machine must not drop the database under this one.
const benchDatabase = (app: string) => `leasehold_bench_${process.pid}_${app}`;

/** Recreates a bench database next to the configured one for one app of the run; returns its URL. */
export async function createBenchDatabase(app: string): Promise<string> {
  const admin = postgres(BASE_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${benchDatabase(app)} with (force)`);
    await admin.unsafe(`create database ${benchDatabase(app)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${benchDatabase(app)}`;
  return url.toString();
}

export async function dropBenchDatabase(app: string): Promise<void> {
  const admin = postgres(BASE_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${benchDatabase(app)} with (force)`);
  } finally {
    await admin.end();
  }
}

export interface AppHandle {
  server: Server;
  adminToken: string;
  /** Removes the app's temporary data directory (after the server stopped). */
  cleanup(): void;
}

export async function startApp(options: {
  runtime: Runtime;
  databaseUrl: string;
  nodeFlags?: string[];
  /** A checkout of another commit to run instead of this one (the baseline), and its name. */
  checkout?: { dir: string; name: string };
}): Promise<AppHandle> {
  const entry = `src/runtime/${options.runtime}.ts`;
  const dataDir = mkdtempSync(join(tmpdir(), 'leasehold-bench-'));
  const adminToken = `bench-admin-${crypto.randomUUID()}`;
  try {
    const server = await startServer({
      name: `${options.checkout?.name ?? 'app'} (${options.runtime})`,
      command: commandFor(options.runtime, entry, options.nodeFlags),
      ...(options.checkout ? { cwd: options.checkout.dir } : {}),
      env: {
        DATABASE_URL: options.databaseUrl,
        REDIS_URL,
        LEASEHOLD_ADMIN_TOKEN: adminToken,
        ...sharedSecrets(),
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        // As `npm start` runs it: graphql skips its development-only checks.
        NODE_ENV: 'production',
        RATE_LIMITS: JSON.stringify({ license: BENCH_LICENSE_LIMIT }),
      },
      readyPath: '/health',
    });
    return { server, adminToken, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** What a server on Postgres refuses to start without (an instance must not generate them). */
export function sharedSecrets(): Record<string, string> {
  const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    LICENSE_KEY_SECRET: randomBytes(32).toString('base64url'),
    WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    ACCESS_TOKEN_KEY_PEM: pem(),
    SIGNING_KEY_PEM: pem(),
  };
}

/** The bare floor runs on Node only (it is node:http itself); the Yoga floor on any runtime. */
export function startFloor(
  kind: 'bare' | 'yoga',
  options: { runtime?: Runtime; nodeFlags?: string[]; hardening?: boolean } = {},
): Promise<Server> {
  const runtime = kind === 'bare' ? 'node' : (options.runtime ?? 'node');
  return startServer({
    name: `${kind} floor${options.hardening ? ' + hardening' : ''} (${runtime})`,
    command: commandFor(runtime, `bench/floors/${kind}.ts`, options.nodeFlags),
    env: { REDIS_URL, NODE_ENV: 'production', ...(options.hardening ? { HARDENING: '1' } : {}) },
    readyPath: kind === 'bare' ? '/' : '/health',
  });
}

export async function graphql(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<Record<string, any>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await response.json()) as { data?: Record<string, any>; errors?: unknown };
  if (!json.data || json.errors) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(json)}`);
  return json.data;
}

export const ACQUIRE = `mutation($i: AcquireSeatInput!) {
  acquireSeat(input: $i) { __typename ... on SeatGranted { session { id } lease { token } } }
}`;
export const RELEASE = `mutation($i: ReleaseSeatInput!) {
  releaseSeat(input: $i) { __typename ... on SeatReleased { seats { used } } }
}`;

export interface Seed {
  licenseId: string;
  licenseKey: string;
  sessionIds: string[];
}

/** The meter of the recordUsage lane: room for any run. */
export const BENCH_METER = 'bench-calls';

/**
 * A license with room for the acquire lane, and `sessions` live leases for the heartbeat lanes;
 * with `meter`, also a meter for the recordUsage lane (a baseline may predate meters).
 */
/**
 * Every seat policy of issue 16 switched on, none of them binding at the bench's scale: what the
 * policies cost on the seat path, beside the same lanes with them off.
 */
const SEAT_POLICIES = {
  overage: 'ALLOW_1_5X',
  lingerSeconds: 60,
  queue: { enabled: true, maxLength: 1000, claimSeconds: 60 },
  maxBorrowDays: 7,
  maxBorrowedSeats: 100,
  maxDeactivationsPerMonth: 10,
};

export async function seed(app: AppHandle, sessions: number, options: { meter?: boolean; policies?: boolean } = {}): Promise<Seed> {
  const created = await graphql(
    app.server.url,
    `
      mutation ($input: CreateLicenseInput!) {
        createLicense(input: $input) {
          __typename
          ... on LicenseCreated {
            key
            license {
              id
            }
          }
        }
      }
    `,
    {
      input: {
        tier: 'bench',
        features: ['a', 'b'],
        maxSeats: 100_000,
        leaseSeconds: 3600,
        ...(options.meter ? { meters: [{ name: BENCH_METER, limit: 1_000_000_000, period: 'LIFETIME' }] } : {}),
        ...(options.policies ? SEAT_POLICIES : {}),
      },
    },
    app.adminToken,
  );
  const { key: licenseKey, license } = created.createLicense as { key?: string; license?: { id: string } };
  if (!licenseKey || !license) throw new Error(`createLicense: ${JSON.stringify(created)}`);
  const sessionIds: string[] = [];
  for (let i = 0; i < sessions; i++) {
    const data = await graphql(app.server.url, ACQUIRE, { i: { licenseKey, fingerprint: `bench-seed-${i}` } });
    const id = (data.acquireSeat as { session?: { id: string } }).session?.id;
    if (!id) throw new Error(`acquireSeat: ${JSON.stringify(data)}`);
    sessionIds.push(id);
  }
  return { licenseId: license.id, licenseKey, sessionIds };
}

/** Deletes the bench license's seat state (lh:{<licenseId>}:*) from Redis. */
export async function removeSeatKeys(licenseId: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `lh:{${licenseId}}:*`, count: 1000 })) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
