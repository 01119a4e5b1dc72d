/**
 * Builds the real app against the machine's PostgreSQL and Redis (never mocks), and talks to it
 * in-process through `yoga.fetch`. Each test creates its own licenses, so suites run in parallel.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { nodeConnInfo } from '../../src/runtime/nodeServer.ts';
import { removeOrganizations } from './organizations.ts';

export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL,
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

export async function startApp(env: Record<string, string> = {}, options: Partial<AppOptions> = {}): Promise<App> {
  const config = testConfig(env);
  const files = createFileStore(await mkdtemp(join(tmpdir(), 'leasehold-test-')));
  // As `npm start` on Node: the peer comes from the socket when the app is served over real HTTP.
  const app = await createApp(config, { files, connInfo: nodeConnInfo, background: false, ...options });
  const close = app.close.bind(app);
  app.close = async () => {
    await removeOrganizations(app, config.databaseUrl ?? DATABASE_URL);
    await close();
  };
  return app;
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

export async function acquire(app: App, licenseKey: string, fingerprint: string) {
  const r = await gql(app, ACQUIRE, { input: { licenseKey, fingerprint } });
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
