/**
 * The database handle: postgres.js against DATABASE_URL in production, PGlite in the data
 * directory otherwise. Both run the same drizzle migrations from drizzle/ at start.
 */
import { createHash } from 'node:crypto';
import { cpSync } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { Sql } from 'postgres';
import { ConfigError, unreachable } from '../config/config.ts';
import { availability, type Availability } from './availability.ts';
import type { ConnectSocket } from '../lib/network.ts';
import * as schema from './schema.ts';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** The app's role can act as the tables' owner (see `actsAsOwner`): the audit log's guards are its to undo. */
  runsAsOwner: boolean;
  close(): Promise<void>;
}

const migrationsFolder = decodeURIComponent(new URL('../../drizzle', import.meta.url).pathname);

/**
 * What every postgres.js client of the app is opened with. `fetch_types` is off because the
 * driver runs its array-type query as the first statement of each new connection and drops that
 * promise: a connection reset or cancelled right then becomes an unhandled rejection that ends
 * the process (porsager/postgres#1192). Nothing here needs it: drizzle writes and reads arrays
 * as Postgres array literals, and bulk statements pass JSON.
 */
const DRIVER_OPTIONS = { fetch_types: false, onnotice: () => {} } as const;

/** The longest any statement of the app may run on Postgres (its statement_timeout). */
const STATEMENT_TIMEOUT_MS = 30_000;

/** Whether Postgres answers `select 1` on a connection of its own within `ms`. */
async function answersWithin(postgres: typeof import('postgres'), url: string, ms: number): Promise<void> {
  const probe = postgres(url, { ...DRIVER_OPTIONS, max: 1, connect_timeout: ms / 1000 });
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
      if (key !== 'unsafe' && key !== 'begin') return value;
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

/** The role drizzle/0020 made for the server: reads and writes rows, owns nothing. */
const SERVER_ROLE = 'leasehold_server';

/**
 * Runs the migrations under the migration lock, then `then` on the connection that holds it
 * (still under the lock). The lock is held by a client of one connection of its own for the whole
 * run, and let go when that client ends. (Not a reserved connection of the pool: postgres.js never
 * hands out a reserved connection that is new when its types are not fetched, porsager/postgres#751.)
 * A migration's statements are bound by the statement timeout too (and checked, not dropped, when slow).
 */
async function migrateUnderLock(
  postgres: typeof import('postgres'),
  url: string,
  connectTimeoutMs: number,
  migrate: () => Promise<void>,
  fail: (error: unknown) => Promise<never>,
  then: (lock: Sql) => Promise<void> = async () => {},
): Promise<void> {
  const lock = postgres(url, {
    ...DRIVER_OPTIONS,
    max: 1,
    connect_timeout: connectTimeoutMs / 1000,
    connection: { statement_timeout: STATEMENT_TIMEOUT_MS },
  });
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`.catch(fail);
    await migrate();
    await then(lock);
  } finally {
    await lock.end({ timeout: 5 });
  }
}

/**
 * Whether the role the server connects as could undo what the audit log's owner set up: it is a
 * superuser, or it owns (or may act as the owner of) the tables. drizzle/0020 is for such a role
 * to not be the one the app runs as.
 */
async function actsAsOwner(client: Sql): Promise<boolean> {
  const [row] = await client<{ owner: boolean }[]>`
    select r.rolsuper or pg_has_role(current_user, c.relowner, 'USAGE') as owner
      from pg_roles r, pg_class c
     where r.rolname = current_user and c.oid = 'public.audit_logs'::regclass`;
  return row?.owner ?? false;
}

/**
 * Whether `client` is the one to migrate when no owner is configured: on an empty database, or
 * as a role that may act as the owner. An instance running as leasehold_server only checks that
 * the last migration it knows has been applied (the owner's instance, or a deploy step, runs it).
 */
async function migratesItself(client: Sql, whenNew: (() => void) | undefined): Promise<boolean> {
  const [row] = await client<{ tables: boolean }[]>`select to_regclass('public.audit_logs') is not null as tables`;
  if (!row!.tables) whenNew?.();
  return !row!.tables || (await actsAsOwner(client));
}

async function assertMigrated(client: Sql): Promise<void> {
  const { readMigrationFiles } = await import('drizzle-orm/migrator');
  const newest = Math.max(...readMigrationFiles({ migrationsFolder }).map((m) => m.folderMillis));
  const [row] = await client<{ at: string | null }[]>`select max(created_at)::text as at from drizzle.__drizzle_migrations`;
  if (Number(row?.at ?? 0) < newest) {
    throw new ConfigError(
      'MIGRATION_DATABASE_URL',
      "unset, and the database is behind this version while DATABASE_URL's role does not own its tables: " +
        "set it to the owner's address on one instance, which migrates",
    );
  }
}

/**
 * Postgres settings of the embedded database, given at each start (the data directory's
 * postgresql.conf keeps initdb's). PGlite's defaults are a server's: 128 MB of shared_buffers,
 * which its start touches in full (about 115 MiB of resident memory before the first query),
 * and shared memory sized for 100 connections where PGlite only ever has its one session. The
 * embedded database is a few tens of MB that the OS's page cache holds anyway, so a small buffer
 * pool costs it little: 8 MB rather than 16 took about 10 MiB off the embedded server's RSS, idle
 * and under the bench's heartbeat lane, with no heartbeats per second lost that the bench could see.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=8MB', '-c', 'max_connections=10'];

/**
 * Starts a new embedded data directory from the cluster that initdb made with this PGlite at
 * build time (scripts/build.mjs), with the migrations of that build applied (the start applies
 * any newer), found by a hash of PGlite's Postgres binary, so an upgraded PGlite never starts on
 * another's cluster. The file system copies it (cpSync is native on Node, Bun and Deno: about
 * 30 ms, off the JavaScript heap), PG_VERSION last: a copy cut short is no cluster, and the next
 * start copies again over it. Running initdb at the first start instead takes a second PGlite
 * instance and initdb's own WebAssembly program: about 2 s more of the first start and a peak of
 * about 800 MiB. Does nothing where the directory holds a cluster already, or no build made one
 * (Bun and Deno run src/, which may not be built): PGlite then runs initdb.
 * node:fs, node:crypto and node:module's createRequire are in Node, Bun and Deno alike.
 */
async function copyInitialCluster(pgdata: string, whenNew: (() => void) | undefined): Promise<void> {
  if (await access(join(pgdata, 'PG_VERSION')).then(() => true, () => false)) return;
  whenNew?.();
  const wasm = await readFile(createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm'));
  const digest = createHash('sha256').update(wasm).digest('hex').slice(0, 16);
  const cluster = decodeURIComponent(new URL(`../../dist/pglite/cluster-${digest}`, import.meta.url).pathname);
  const entries = await readdir(cluster).catch((): string[] => []);
  if (!entries.includes('PG_VERSION')) return;
  for (const entry of entries) if (entry !== 'PG_VERSION') cpSync(join(cluster, entry), join(pgdata, entry), { recursive: true });
  cpSync(join(cluster, 'PG_VERSION'), join(pgdata, 'PG_VERSION'));
}

export async function openDatabase(options: {
  url: string | undefined;
  /**
   * The tables' owner (MIGRATION_DATABASE_URL), which runs the migrations and grants the role
   * of `url` leasehold_server; unset, `url` migrates and the app runs as whoever that is.
   */
  migrationUrl?: string | undefined;
  pgliteDir: () => Promise<string>;
  poolSize?: number;
  /** How long connecting may take, and a connection may stay silent before the network is checked (db/availability.ts). */
  timeoutMs?: number;
  /** The runtime's sockets to Postgres, which the watchdog watches. */
  connectSocket: ConnectSocket;
  /**
   * Called when the database is found new (an embedded data directory without a cluster, a
   * Postgres database without the tables), before it is made: for a first start's work that needs
   * no database to run meanwhile. Not called where the tables' owner migrates (MIGRATION_DATABASE_URL).
   */
  whenNew?: () => void;
}): Promise<DatabaseHandle> {
  if (options.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const timeoutMs = options.timeoutMs ?? 1000;
    const url = options.url;
    const available = availability(timeoutMs, () => answersWithin(postgres, url, timeoutMs), options.connectSocket);
    const client = postgres(url, {
      ...DRIVER_OPTIONS,
      max: options.poolSize ?? 10,
      connect_timeout: timeoutMs / 1000,
      idle_timeout: 30,
      // A statement that runs away (or waits on a lock for ever) ends with an error, not a hung request.
      connection: { statement_timeout: STATEMENT_TIMEOUT_MS },
      backoff: available.backoff,
      // postgres.js takes a socket factory (`socket`), which its type definitions leave out.
      ...({ socket: available.socket } as object),
    });
    const db = drizzle(failFast(client, available), { schema });
    const failed = async (variable: string, at: string, error: unknown): Promise<never> => {
      available.stop();
      await client.end({ timeout: 0 });
      throw unreachable(variable, 'Postgres', at, error);
    };
    const migrationUrl = options.migrationUrl;
    if (migrationUrl) {
      const owner = postgres(migrationUrl, {
        ...DRIVER_OPTIONS,
        max: 2,
        connect_timeout: timeoutMs / 1000,
        connection: { statement_timeout: STATEMENT_TIMEOUT_MS },
      });
      try {
        const [login] = await client<{ name: string }[]>`select current_user as name`.catch((error: unknown) =>
          failed('DATABASE_URL', url, error),
        );
        await migrateUnderLock(
          postgres,
          migrationUrl,
          timeoutMs,
          () => migrate(drizzle(owner, { schema }), { migrationsFolder }),
          (error) => failed('MIGRATION_DATABASE_URL', migrationUrl, error),
          async (lock) => {
            // Under the lock: instances starting together would otherwise grant the same membership at once.
            const [role] = await lock<{ same: boolean; member: boolean }[]>`
              select current_user = ${login!.name} as same, pg_has_role(${login!.name}, ${SERVER_ROLE}, 'MEMBER') as member`;
            if (!role!.same && !role!.member) await lock`grant ${lock(SERVER_ROLE)} to ${lock(login!.name)}`;
          },
        );
      } finally {
        await owner.end({ timeout: 5 });
      }
    } else {
      const itself = await migratesItself(client, options.whenNew).catch((error: unknown) => failed('DATABASE_URL', url, error));
      if (itself) {
        await migrateUnderLock(
          postgres,
          url,
          timeoutMs,
          () => migrate(db, { migrationsFolder }),
          (error) => failed('DATABASE_URL', url, error),
        );
      } else {
        await assertMigrated(client).catch(async (error: unknown) => {
          available.stop();
          await client.end({ timeout: 0 });
          throw error;
        });
      }
    }
    return {
      db: db as unknown as Database,
      kind: 'postgres',
      runsAsOwner: await actsAsOwner(client),
      async close() {
        available.stop();
        await client.end({ timeout: 5 });
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const pgdata = await options.pgliteDir();
  await copyInitialCluster(pgdata, options.whenNew);
  const client = new PGlite(pgdata, {
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
  });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  // PGlite's one user is a superuser; after migrating, the session works as the server's role,
  // so the embedded server has exactly the privileges a deployment's has.
  await client.exec(`set role ${SERVER_ROLE}`);
  return { db: db as unknown as Database, kind: 'pglite', runsAsOwner: false, close: () => client.close() };
}

export async function ping(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}

/** The rows of a raw `execute`: postgres.js answers an array, PGlite an object holding `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}
