/**
 * Runs work inside one organization: a transaction as the `leasehold_app` role with
 * `app.org_id` set, so row-level security (drizzle/0004) limits every statement to that
 * organization. Work that spans organizations by nature (resolving a license key, the sweeper,
 * sign-in) runs on the connecting user instead, and says so where it does.
 */
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Sql } from 'postgres';
import type { Database } from './client.ts';
import { rowsOf } from './client.ts';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

// Both settings are transaction-local, so nothing leaks to the pooled connection (PgBouncer-safe).
const settings = (orgId: string) => sql`select set_config('app.org_id', ${orgId}, true), set_config('role', 'leasehold_app', true)`;

export function inTenant<T>(db: Database, orgId: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(settings(orgId));
    return work(tx);
  });
}

const dialect = new PgDialect();

/** The postgres.js client under `db`; undefined on PGlite. */
function postgresClient(db: Database): Sql | undefined {
  const client = (db as { $client?: unknown }).$client;
  return typeof client === 'function' && 'begin' in client ? (client as Sql) : undefined;
}

/**
 * Runs one statement inside the organization, in a transaction of its own, and answers its rows
 * as the driver gives them. For the hot paths: on postgres.js this costs two round trips, BEGIN
 * and then the settings, the statement and COMMIT written together, where `inTenant` costs two
 * per statement (drizzle's queries are unprepared, and postgres.js has Postgres describe an
 * unprepared query's parameters before it sends them). And the locks the statement takes, such
 * as the audit chain's, are not held across a round trip, since COMMIT is already on its way.
 */
export async function inTenantStatement<T>(db: Database, orgId: string, statement: SQL): Promise<T[]> {
  const client = postgresClient(db);
  if (!client) return inTenant(db, orgId, async (tx) => rowsOf<T>(await tx.execute(statement)));
  const settingsQuery = dialect.sqlToQuery(settings(orgId));
  const query = dialect.sqlToQuery(statement);
  // Prepared, so from its second use on a connection a statement goes out without the describe
  // (`prepare=false` in DATABASE_URL, for a PgBouncer older than 1.21, turns this off). Neither is
  // awaited in the callback: postgres.js then writes COMMIT right behind them. If either fails,
  // the transaction is aborted and that COMMIT rolls it back.
  const sent = await client.begin((tx) => ({
    settings: tx.unsafe(settingsQuery.sql, settingsQuery.params as string[], { prepare: true }).execute(),
    rows: tx.unsafe(query.sql, query.params as never[], { prepare: true }).execute(),
  }));
  await sent.settings;
  return (await sent.rows) as unknown as T[];
}
