/**
 * Every organization a test works in, made one way and removed when its app closes, so the
 * shared test database does not grow with each run and no suite works in the operator's
 * organization or in another suite's.
 */
import postgres from 'postgres';
import type { App } from '../../src/app.ts';
import type { Actor } from '../../src/services/context.ts';
import { createOrganization, createUser, startSignIn } from '../../src/services/identity/signIn.ts';
import type { Role } from '../../src/services/principals.ts';

const seeded = new WeakMap<App, Set<string>>();

async function newOrganization(app: App, name: string): Promise<string> {
  const orgId = await createOrganization(app.services, name);
  const ids = seeded.get(app) ?? new Set<string>();
  seeded.set(app, ids.add(orgId));
  return orgId;
}

/** A fresh organization with one user of the given role, and an access token for that user. */
export async function seedOrganization(app: App, role: Role = 'owner') {
  const orgId = await newOrganization(app, `Test org ${Math.random().toString(36).slice(2, 8)}`);
  return { orgId, ...(await addUser(app, orgId, role)) };
}

/** Another user of an organization, signed in: an access token and the refresh token of its session. */
export async function addUser(app: App, orgId: string, role: Role) {
  const email = `${role}-${crypto.randomUUID()}@example.test`;
  const password = 'correct horse battery staple';
  const created = await createUser(app.services, { type: 'system', id: 'test-harness', orgId, requestId: null }, { email, password, role });
  if (!created.ok) throw created.error;
  const { accessToken: token, refreshToken } = await startSignIn(app.services, created.value);
  return { userId: created.value.id, email, password, token, refreshToken };
}

/** A fresh organization and an operator acting in it, for tests that call services directly. */
export async function freshOrganization(app: App): Promise<Actor> {
  const orgId = await newOrganization(app, 'Service test');
  return { type: 'operator', id: null, orgId, requestId: crypto.randomUUID() };
}

/**
 * Removes the organizations seeded through `app` with every row that names them. The audit log
 * refuses deletes by trigger, and rightly so for the app; the test database's owner removes its
 * own fixtures with triggers (foreign keys among them) off, so each table is cleared by org_id.
 */
export async function removeOrganizations(app: App, databaseUrl: string): Promise<void> {
  const ids = [...(seeded.get(app) ?? [])];
  seeded.delete(app);
  if (ids.length === 0) return;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      const tables = await tx<{ name: string }[]>`
        select table_name as name from information_schema.columns
        where table_schema = 'public' and column_name = 'org_id'`;
      for (const { name } of tables) await tx`delete from ${tx(name)} where org_id = any(${ids})`;
      await tx`delete from organizations where id = any(${ids})`;
    });
  } finally {
    await sql.end();
  }
}
