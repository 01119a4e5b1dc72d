/**
 * The database handle: postgres.js against DATABASE_URL in production, PGlite in the data
 * directory otherwise. Both run the same drizzle migrations from drizzle/ at start.
 */
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { Sql } from 'postgres';
import { unreachable } from '../config/config.ts';
import { availability, type Availability } from './availability.ts';
import * as schema from './schema.ts';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const migrationsFolder = decodeURIComponent(new URL('../../drizzle', import.meta.url).pathname);

/** The longest any statement of the app may run on Postgres (its statement_timeout). */
const STATEMENT_TIMEOUT_MS = 30_000;

/** Whether Postgres answers `select 1` on a connection of its own within `ms`. */
async function answersWithin(postgres: typeof import('postgres'), url: string, ms: number): Promise<void> {
  const probe = postgres(url, { max: 1, connect_timeout: ms / 1000, onnotice: () => {} });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe`select 1`,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    void probe.end({ timeout: 0 });
  }
}

/**
 * The pool as drizzle sees it: while Postgres is known to be away, a new query or transaction
 * fails at once with DatabaseUnavailable (services answer SERVICE_UNAVAILABLE) instead of
 * queueing for a connection that cannot be made.
 */
function failFast(client: Sql, available: Availability): Sql {
  return new Proxy(client, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'unsafe' && key !== 'begin' && key !== 'reserve') return value;
      return (...args: unknown[]) => {
        const down = available.down();
        if (down) throw down;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Serialises migrations when several instances start at once against one Postgres. */
const MIGRATION_LOCK = 7_243_911;

export async function openDatabase(options: {
  url: string | undefined;
  pgliteDir: () => Promise<string>;
  poolSize?: number;
  /** How long connecting may take, and a connection may stay silent before the network is checked (db/availability.ts). */
  timeoutMs?: number;
}): Promise<DatabaseHandle> {
  if (options.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const timeoutMs = options.timeoutMs ?? 1000;
    const url = options.url;
    const available = availability(timeoutMs, () => answersWithin(postgres, url, timeoutMs));
    const client = postgres(url, {
      max: options.poolSize ?? 10,
      connect_timeout: timeoutMs / 1000,
      idle_timeout: 30,
      // A statement that runs away (or waits on a lock for ever) ends with an error, not a hung request.
      connection: { statement_timeout: STATEMENT_TIMEOUT_MS },
      backoff: available.backoff,
      // postgres.js takes a socket factory (`socket`), which its type definitions leave out.
      ...({ socket: available.socket } as object),
      onnotice: () => {},
    });
    const db = drizzle(failFast(client, available), { schema });
    // A dedicated connection holds the advisory lock for the whole migration run. A migration's
    // statements are bound by the statement timeout too (and checked, not dropped, when slow).
    const lockConnection = await client.reserve().catch(async (error: unknown) => {
      available.stop();
      await client.end({ timeout: 0 });
      throw unreachable('DATABASE_URL', 'Postgres', url, error);
    });
    try {
      await lockConnection`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migrate(db, { migrationsFolder });
    } finally {
      await lockConnection`select pg_advisory_unlock(${MIGRATION_LOCK})`;
      lockConnection.release();
    }
    return {
      db: db as unknown as Database,
      kind: 'postgres',
      async close() {
        available.stop();
        await client.end({ timeout: 5 });
      },
    };
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
