/**
 * The app runs as a role that does not own the tables (drizzle/0020): whoever holds its
 * credentials can read and write rows, but not undo the audit log's guards.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { rowsOf } from '../../src/db/client.ts';
import { DATABASE_URL, SERVER_DATABASE_URL, SERVER_ROLE_LOGIN, createLicense, startApp } from '../support/harness.ts';

let app: App;
/** The app's own login, outside the app: what an attacker holding DATABASE_URL can do. */
const asApp = postgres(SERVER_DATABASE_URL, { max: 1, onnotice: () => {} });
const asOwner = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await asApp.end();
  await asOwner.end();
  await app.close();
});

describe("the app's database role", () => {
  it('is the login of DATABASE_URL, a member of leasehold_server that owns nothing', async () => {
    const [row] = rowsOf<{ user: string; member: boolean; owns: number }>(
      await app.services.db.execute(sql`
        select current_user as user, pg_has_role(current_user, 'leasehold_server', 'MEMBER') as member,
               (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'public' and pg_has_role(current_user, c.relowner, 'USAGE')) as owns`),
    );
    expect(row).toEqual({ user: SERVER_ROLE_LOGIN, member: true, owns: 0 });
  });

  it('cannot drop or disable the append-only trigger, alter the table or replace the hash functions', async () => {
    await expect(asApp`drop trigger audit_logs_no_update_delete on audit_logs`).rejects.toThrow(/must be owner/);
    await expect(asApp`alter table audit_logs disable trigger audit_logs_chain`).rejects.toThrow(/must be owner/);
    await expect(asApp`alter table audit_logs rename to audit_logs_old`).rejects.toThrow(/must be owner/);
    await expect(
      asApp.unsafe(`create or replace function audit_log_hash(previous text, r audit_logs) returns text language sql as $$ select r.hash $$`),
    ).rejects.toThrow(/must be owner|permission denied/);
    await expect(asApp`drop function audit_log_hash(text, audit_logs)`).rejects.toThrow(/must be owner/);
    await expect(asApp`set session_replication_role = replica`).rejects.toThrow(/permission denied/);
  });

  it('cannot update, delete or truncate audit rows, itself or as leasehold_app', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await expect(asApp`update audit_logs set action = 'x' where resource_id = ${license.id}`).rejects.toThrow(/permission denied/);
    await expect(asApp`delete from audit_logs where resource_id = ${license.id}`).rejects.toThrow(/permission denied/);
    await expect(asApp`truncate audit_logs`).rejects.toThrow(/permission denied/);
    await expect(
      asApp.begin(async (tx) => {
        await tx`set local role leasehold_app`;
        await tx`update audit_logs set action = 'x' where resource_id = ${license.id}`;
      }),
    ).rejects.toThrow(/permission denied/);
    const [row] = await asOwner`select action from audit_logs where resource_id = ${license.id}`;
    expect(row).toEqual({ action: 'license.created' });
  });

  it('passes row-level security on every table that has it, so work across organizations still sees their rows', async () => {
    const missing = await asOwner`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r' and c.relrowsecurity
         and not exists (select from pg_policy p where p.polrelid = c.oid and 'leasehold_server'::regrole = any(p.polroles))`;
    expect(missing).toEqual([]);
  });
});

describe('an instance given only the app role', () => {
  it('starts on a database already at its version, checking it instead of migrating', async () => {
    const instance = await startApp({ MIGRATION_DATABASE_URL: '' });
    try {
      const license = await createLicense(instance, { maxSeats: 1 });
      expect(license.id).toMatch(/^lic_/);
    } finally {
      await instance.close();
    }
  });
});

describe('the embedded database', () => {
  // A first start of PGlite runs every migration in WebAssembly: 10 s and more on a loaded machine.
  it('runs the app as leasehold_server after migrating, with the same limits', { timeout: 120_000 }, async () => {
    const embedded = await startApp({ DATABASE_URL: '', MIGRATION_DATABASE_URL: '', REDIS_URL: '' });
    try {
      const [row] = rowsOf<{ user: string }>(await embedded.services.db.execute(sql`select current_user as user`));
      expect(row).toEqual({ user: 'leasehold_server' });
      await expect(embedded.services.db.execute(sql`drop trigger audit_logs_no_update_delete on audit_logs`)).rejects.toThrow();
      await expect(embedded.services.db.execute(sql`update audit_logs set action = 'x'`)).rejects.toThrow();
    } finally {
      await embedded.close();
    }
  });
});
