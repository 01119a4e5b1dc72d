/**
 * What a start prints is a log: in production mode too, the first start of an empty database
 * puts the owner's password and the admin API key in a 0600 file of the data directory, never on
 * stdout; and an embedded server told to listen beyond loopback says so.
 * Run as an operator runs them: the built server (`npm start` runs dist/runtime/node.js).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { signInOver, START_TIMEOUT_MS, startServer, stopServer } from '../support/process.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SERVER = ['node', 'dist/runtime/node.js'];

const dirs: string[] = [];
const databases: string[] = [];
const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
afterAll(async () => {
  for (const name of databases) await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-first-start-'));
  dirs.push(dir);
  return dir;
}

/** An empty database beside the test one, so this start is a first start. */
async function emptyDatabase(): Promise<string> {
  const name = `leasehold_first_start_${process.pid}_${databases.length}`;
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  databases.push(name);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('the first start in production mode', () => {
  it(
    'prints no secret: the owner and the admin API key are in a 0600 file it names, and the owner signs in with it',
    async () => {
      const dir = await dataDir();
      const adminToken = randomBytes(24).toString('base64url');
      const server = await startServer(SERVER, {
        NODE_ENV: 'production',
        DATABASE_URL: await emptyDatabase(),
        REDIS_URL,
        DATA_DIR: dir,
        LEASEHOLD_ADMIN_TOKEN: adminToken,
        LICENSE_KEY_SECRET: randomBytes(32).toString('base64url'),
        WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
        ACCESS_TOKEN_KEY_PEM: pem(),
        SIGNING_KEY_PEM: pem(),
      });
      try {
        const output = server.output();
        expect(output).toContain('first start: created organization');
        expect(output).not.toMatch(/pk_live_|pk_test_/);
        expect(output).not.toContain(adminToken);
        const file = /their credentials: (\S+)/.exec(output)?.[1];
        expect(file?.startsWith(dir)).toBe(true);
        expect((await stat(file!)).mode & 0o777).toBe(0o600);
        const credentials = await readFile(file!, 'utf8');
        const [, email, password] = /owner: +(\S+) \/ (\S+)/.exec(credentials)!;
        expect(credentials).toMatch(/API key: pk_live_/);
        expect(output).not.toContain(password);
        // The owner's password was hashed while the database migrated: the hash stored is this password's.
        expect(await signInOver(server.base, email!, password!)).toBe('SignedIn');
      } finally {
        await stopServer(server);
      }
    },
    START_TIMEOUT_MS + 20_000,
  );
});

describe('an embedded server told to listen on every interface', () => {
  it(
    'warns that it is reachable from other machines',
    async () => {
      const server = await startServer(SERVER, { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: await dataDir(), HOST: '0.0.0.0' });
      try {
        expect(server.output()).toContain('warning: HOST=0.0.0.0 makes this embedded server reachable from other machines');
      } finally {
        await stopServer(server);
      }
    },
    START_TIMEOUT_MS + 20_000,
  );
});
