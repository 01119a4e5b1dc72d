/**
 * A stranger cannot tell which emails have accounts: an unknown email and a wrong password get
 * the same answer, and cost the server the same work (one lookup, one scrypt at today's cost, no
 * write anywhere, the same log line), so no stopwatch tells them apart either. Checked by the
 * work done, not by timing it.
 */
import { count, eq } from 'drizzle-orm';
import { afterEach, afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Database } from '../../src/db/client.ts';
import { auditLogs } from '../../src/db/schema.ts';
import type { Logger } from '../../src/lib/logger.ts';
import { DUMMY_PASSWORD_HASH, PASSWORD_PARAMS, verifyPassword } from '../../src/services/identity/passwords.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { __typename ... on Error { code message } } }`;

let app: App;
let db: Database;
let log: Logger;
beforeAll(async () => {
  app = await startApp();
  db = app.services.db;
  log = app.services.log;
});
afterEach(() => {
  app.services.db = db;
  app.services.log = log;
});
afterAll(() => app.close());

/** The database calls and log lines of one sign-in, as the services made them. */
async function workOf(email: string, password: string, address: string) {
  const calls: string[] = [];
  const lines: string[] = [];
  // The services read `ctx.db` and `ctx.log` on each use, so a recording stand-in sees every call.
  app.services.db = new Proxy(db, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls.push(name);
        return value.apply(target, args);
      };
    },
  });
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${message} ${Object.keys(fields ?? {}).sort().join(',')}`);
  app.services.log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  try {
    const response = await app.yoga.fetch(
      'http://leasehold.test/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: LOGIN, variables: { input: { email, password } } }) },
      { remoteAddress: address },
    );
    return { status: response.status, body: await response.json(), calls, lines };
  } finally {
    app.services.db = db;
    app.services.log = log;
  }
}

const auditRows = async (orgId: string) => (await db.select({ n: count() }).from(auditLogs).where(eq(auditLogs.orgId, orgId)))[0]!.n;
const address = () => `192.0.2.${1 + Math.floor(Math.random() * 254)}`;

describe('a failed sign-in', () => {
  it('answers an unknown email exactly as it answers a wrong password', async () => {
    const u = await seedOrganization(app, 'owner');
    const wrong = await workOf(u.email, 'not the password at all', address());
    const unknown = await workOf(`nobody-${crypto.randomUUID()}@example.test`, 'not the password at all', address());
    expect(wrong.body).toEqual({ data: { login: { __typename: 'InvalidCredentials', code: 'INVALID_CREDENTIALS', message: 'The email or password is not right.' } } });
    expect(unknown.body).toEqual(wrong.body);
    expect(unknown.status).toBe(wrong.status);
  });

  it('does the same database work for both, and writes nothing: no tenant transaction, no audit row', async () => {
    const u = await seedOrganization(app, 'owner');
    const before = await auditRows(u.orgId);
    const wrong = await workOf(u.email, 'not the password at all', address());
    const unknown = await workOf(`nobody-${crypto.randomUUID()}@example.test`, 'not the password at all', address());
    expect(wrong.calls).toEqual(['select']);
    expect(unknown.calls).toEqual(wrong.calls);
    expect(await auditRows(u.orgId)).toBe(before);
    // The same success path does tenant work and audits it: the counts above are for the failure.
    const right = await workOf(u.email, u.password, address());
    expect(right.calls).toContain('transaction');
    expect(await auditRows(u.orgId)).toBe(before + 1);
  });

  it('logs the same line for both, naming neither the email nor the password', async () => {
    const u = await seedOrganization(app, 'owner');
    const wrong = await workOf(u.email, 'not the password at all', address());
    const unknown = await workOf(`nobody-${crypto.randomUUID()}@example.test`, 'not the password at all', address());
    expect(wrong.lines).toEqual(['info sign-in refused ip,requestId']);
    expect(unknown.lines).toEqual(wrong.lines);
  });

  it('runs scrypt at today’s cost for an unknown email too: the dummy hash has today’s parameters and matches nothing', async () => {
    const [, log2N, r, p] = DUMMY_PASSWORD_HASH.split('$').map(Number);
    expect({ log2N, r, p }).toEqual(PASSWORD_PARAMS);
    expect(await verifyPassword('', DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword('not the password at all', DUMMY_PASSWORD_HASH)).toBe(false);
  });

  it('is refused past the limit with the same answer for an account and for an unknown email', async () => {
    const u = await seedOrganization(app, 'owner');
    const refusal = async (email: string) => {
      const from = address();
      const answers = await Promise.all(Array.from({ length: 6 }, () => gql(app, LOGIN, { input: { email, password: 'not the password at all' } }, null, from)));
      const limited = answers.filter((a) => a.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
      expect(limited).toHaveLength(1);
      return { ...limited[0]!.errors![0]!, message: limited[0]!.errors![0]!.message.replace(/\d+ s/, 'N s'), extensions: { ...limited[0]!.errors![0]!.extensions, retryAfter: 'N' } };
    };
    expect(await refusal(`nobody-${crypto.randomUUID()}@example.test`)).toEqual(await refusal(u.email));
  });
});
