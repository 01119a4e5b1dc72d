/**
 * The database handle: postgres.js against DATABASE_URL in production, PGlite in the data
 * directory otherwise. Both run the same drizzle migrations from drizzle/ at start.
 */
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { unreachable } from '../config/config.ts';
import * as schema from './schema.ts';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const migrationsFolder = decodeURIComponent(new URL('../../drizzle', import.meta.url).pathname);

/** Serialises migrations when several instances start at once against one Postgres. */
const MIGRATION_LOCK = 7_243_911;

export async function openDatabase(options: {
  url: string | undefined;
  pgliteDir: () => Promise<string>;
  poolSize?: number;
}): Promise<DatabaseHandle> {
  if (options.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(options.url, {
      max: options.poolSize ?? 10,
      connect_timeout: 5,
      idle_timeout: 30,
      onnotice: () => {},
    });
    const db = drizzle(client, { schema });
    // A dedicated connection holds the advisory lock for the whole migration run.
    const lockConnection = await client.reserve().catch(async (error: unknown) => {
      await client.end({ timeout: 0 });
      throw unreachable('DATABASE_URL', 'Postgres', options.url!, error);
    });
    try {
      await lockConnection`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migrate(db, { migrationsFolder });
    } finally {
      await lockConnection`select pg_advisory_unlock(${MIGRATION_LOCK})`;
      lockConnection.release();
    }
    return { db: db as unknown as Database, kind: 'postgres', close: () => client.end({ timeout: 5 }) };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const client = new PGlite(await options.pgliteDir());
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  return { db: db as unknown as Database, kind: 'pglite', close: () => client.close() };
}

export async function ping(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}

/** The rows of a raw `execute`: postgres.js answers an array, PGlite an object holding `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}
