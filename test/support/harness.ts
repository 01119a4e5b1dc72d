/**
 * Builds the real app against the machine's PostgreSQL and Redis (never mocks), and talks to it
 * in-process through `yoga.fetch`. Each test creates its own licenses, so suites run in parallel.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { nodeNetwork } from '../../src/runtime/network.ts';
import { nodeConnInfo } from '../../src/runtime/nodeServer.ts';
import { removeOrganizations } from './organizations.ts';
import { tcpProxy } from './tcpProxy.ts';

/** The test database as its owner: migrations, and tests that look behind the app's back. */
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
/** The login the app runs as, as in production: not the tables' owner (drizzle/0020). */
export const SERVER_ROLE_LOGIN = 'leasehold_test_server';
export const SERVER_DATABASE_URL = (() => {
  const url = new URL(DATABASE_URL);
  url.username = SERVER_ROLE_LOGIN;
  url.password = '';
  return url.toString();
})();
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: SERVER_DATABASE_URL,
    // A test that names a database of its own (or a proxy to this one) connects as the owner, which migrates.
    MIGRATION_DATABASE_URL: env.DATABASE_URL === undefined ? DATABASE_URL : '',
    REDIS_URL,
    LEASEHOLD_ADMIN_TOKEN: ADMIN_TOKEN,
    LICENSE_KEY_SECRET: 'test-license-key-secret-0123456789',
    // Shared by every instance, as in production: one instance's worker opens another's endpoint secrets.
    WEBHOOK_SECRET_KEY: 'dGVzdC13ZWJob29rLXNlY3JldC1rZXktMzItYnl0ZXM=',
    // Test receivers listen on 127.0.0.1; a test that starts a worker starts it itself.
    WEBHOOK_ALLOW_PRIVATE: '1',
    WEBHOOK_WORKER: 'off',
    LOG_LEVEL: 'silent',
    // As vitest's own environment says (and servers the tests spawn inherit): signing keys may be
    // generated per data directory, which a server on Postgres in production refuses.
    NODE_ENV: 'test',
    // Suites share 127.0.0.1 and one Redis; the rate-limit suites set their own limits.
    RATE_LIMITS: JSON.stringify({ anonymous: '1000000/min', user: '1000000/min', operator: '1000000/min', license: '1000000/min' }),
    ...env,
  });
}

/** The ConfigError that `env` stops the start with, or undefined when it loads. */
export function configRefusal(env: Record<string, string>): ConfigError | undefined {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return undefined;
}

let serverLogin: Promise<void> | undefined;

/**
 * Makes the app's login once per process (the server grants it leasehold_server when it
 * migrates). Roles are the cluster's: another process may make it at the same moment.
 */
export function ensureServerLogin(): Promise<void> {
  serverLogin ??= (async () => {
    const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`do $$ begin
          if not exists (select from pg_roles where rolname = '${SERVER_ROLE_LOGIN}') then create role ${SERVER_ROLE_LOGIN} login; end if;
        exception when duplicate_object or unique_violation then null;
        end $$`);
    } finally {
      await sql.end();
    }
  })();
  return serverLogin;
}

export async function startApp(env: Record<string, string> = {}, options: Partial<AppOptions> = {}): Promise<App> {
  await ensureServerLogin();
  const config = testConfig(env);
  const files = createFileStore(await mkdtemp(join(tmpdir(), 'leasehold-test-')));
  // As `npm start` on Node: the peer comes from the socket when the app is served over real HTTP.
  const app = await createApp(config, { files, network: nodeNetwork, connInfo: nodeConnInfo, background: false, ...options });
  const close = app.close.bind(app);
  app.close = async () => {
    // As the tables' owner: removing fixtures goes behind the audit log's guards.
    const owner = config.migrationDatabaseUrl ?? (config.databaseUrl === SERVER_DATABASE_URL ? DATABASE_URL : config.databaseUrl);
    await removeOrganizations(app, owner ?? DATABASE_URL);
    await close();
  };
  return app;
}

/** An app that reaches Postgres through a proxy the test can cut or black-hole; `close` heals it and closes both. */
export async function startAppBehindProxy(env: Record<string, string> = {}) {
  const proxy = await tcpProxy(Number(new URL(DATABASE_URL).port || 5432));
  const url = new URL(DATABASE_URL);
  url.port = String(proxy.port);
  const app = await startApp({ ...env, DATABASE_URL: url.toString() });
  const close = async () => {
    await proxy.restore();
    await app.close();
    await proxy.close();
  };
  return { app, proxy, close };
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export async function gql<T = Record<string, any>>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = null,
  remoteAddress = '127.0.0.1',
): Promise<GraphQLResponse<T>> {
  const response = await app.yoga.fetch(
    'http://leasehold.test/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    },
    { remoteAddress },
  );
  return { status: response.status, ...((await response.json()) as object) };
}

export const admin = <T = Record<string, any>>(app: App, query: string, variables: Record<string, unknown> = {}) =>
  gql<T>(app, query, variables, ADMIN_TOKEN);

export interface LicenseFixture {
  id: string;
  key: string;
}

export async function createLicense(
  app: App,
  input: {
    maxSeats: number;
    maxMachines?: number;
    leaseSeconds?: number;
    reviveSeconds?: number;
    tier?: string;
    features?: string[];
    expiresAt?: string;
    /** Seat policies (overage, …), as CreateLicenseInput names them. */
    [policy: string]: unknown;
  },
): Promise<LicenseFixture> {
  const result = await admin(
    app,
    `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { __typename ... on LicenseCreated { key license { id } } ... on Error { code message } } }`,
    { input: { tier: 'pro', features: ['export'], ...input } },
  );
  const created = result.data?.createLicense;
  if (created?.__typename !== 'LicenseCreated') throw new Error(`createLicense failed: ${JSON.stringify(result)}`);
  return { id: created.license.id, key: created.key };
}

export const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename
  ... on SeatGranted { session { id fingerprint startedAt expiresAt } lease { token keyId algorithm expiresAt payload } seats { used max } }
  ... on NoSeatsAvailable { seats { used max } }
  ... on Error { code message } } }`;

export const HEARTBEAT = `mutation($input: HeartbeatSeatInput!) { heartbeatSeat(input: $input) {
  __typename
  ... on SeatRenewed { session { id expiresAt } lease { token expiresAt } }
  ... on Error { code message } } }`;

export const RELEASE = `mutation($input: ReleaseSeatInput!) { releaseSeat(input: $input) {
  __typename
  ... on SeatReleased { session { id endedAt endReason } seats { used max } }
  ... on Error { code message } } }`;

export async function acquire(app: App, licenseKey: string, fingerprint: string, clientInfo?: unknown) {
  const r = await gql(app, ACQUIRE, { input: { licenseKey, fingerprint, ...(clientInfo === undefined ? {} : { clientInfo }) } });
  return r.data?.acquireSeat ?? r;
}

export async function heartbeat(app: App, licenseKey: string, sessionId: string) {
  const r = await gql(app, HEARTBEAT, { input: { licenseKey, sessionId } });
  return r.data?.heartbeatSeat ?? r;
}

export async function release(app: App, licenseKey: string, sessionId: string) {
  const r = await gql(app, RELEASE, { input: { licenseKey, sessionId } });
  return r.data?.releaseSeat ?? r;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
