/** The embedded default: no environment at all gives PGlite and the in-process seat store. */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase, rowsOf } from '../../src/db/client.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { nodeNetwork } from '../../src/runtime/network.ts';
import { rollUpUtilization } from '../../src/services/utilization/rollUp.ts';
import { acquire, gql, heartbeat, release } from '../support/harness.ts';

let app: App;
let dataDir: string;

/** initdb gives every cluster an identifier of its own; two copies of the build's share it. */
const systemId = async (db: App['services']['db']) =>
  rowsOf<{ id: string }>(await db.execute(sql`select system_identifier::text as id from pg_control_system()`))[0]!.id;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'leasehold-embedded-'));
  app = await createApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { files: createFileStore(dataDir), network: nodeNetwork, background: false });
});
afterAll(() => app.close());

describe('embedded mode', () => {
  it('runs on PGlite and in-process seats, with a generated operator token that works', async () => {
    expect(app.mode).toMatchObject({ database: 'pglite', seats: 'memory' });
    const token = app.generatedAdminToken!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const created = await gql(
      app,
      `mutation { createLicense(input: { tier: "free", features: [], maxSeats: 1 }) { ... on LicenseCreated { key license { id } } } }`,
      {},
      token,
    );
    const key = created.data?.createLicense.key as string;
    const granted = await acquire(app, key, 'laptop');
    expect(granted.__typename).toBe('SeatGranted');
    expect((await acquire(app, key, 'desktop')).__typename).toBe('NoSeatsAvailable');
    expect((await heartbeat(app, key, granted.session.id)).__typename).toBe('SeatRenewed');
    expect((await release(app, key, granted.session.id)).seats.used).toBe(0);

    // Utilization history is written and rolled up on PGlite too.
    await app.services.utilization.flush();
    expect(await rollUpUtilization(app.services)).toMatchObject({ hours: 1, days: 1 });
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const history = await gql(
      app,
      `query($from: DateTime!, $to: DateTime!) { seatUtilization(from: $from, to: $to, granularity: HOUR) { at peakUsed max grants denials } }`,
      { from: new Date(hour).toISOString(), to: new Date(hour + 3_600_000).toISOString() },
      token,
    );
    expect(history.data?.seatUtilization).toEqual([{ at: new Date(hour).toISOString(), peakUsed: 1, max: 1, grants: 1, denials: 1 }]);
  });

  it("sizes its database for one embedded session, not a server's: 8 MB of shared buffers, 10 connections", async () => {
    // PGlite's defaults (128 MB, 100) are touched in full at start: about 115 MiB more resident memory.
    const setting = async (name: string) => rowsOf<Record<string, string>>(await app.services.db.execute(sql.raw(`show ${name}`)))[0]![name];
    expect(await setting('shared_buffers')).toBe('8MB');
    expect(await setting('max_connections')).toBe('10');
  });

  it("starts a new data directory from the cluster the build made with initdb, not from an initdb of its own", async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'leasehold-embedded-'));
    const other = await openDatabase({ url: undefined, pgliteDir: async () => otherDir, connectSocket: nodeNetwork.connectSocket });
    try {
      expect(await systemId(other.db)).toBe(await systemId(app.services.db));
    } finally {
      await other.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it("has the build's cluster arrive with every migration applied, so a first start runs none", async () => {
    const root = new URL('../../', import.meta.url);
    const [name] = (await readdir(new URL('dist/pglite/', root))).filter((entry) => /^cluster-[0-9a-f]+$/.test(entry));
    const journal = JSON.parse(await readFile(new URL('drizzle/meta/_journal.json', root), 'utf8')) as { entries: unknown[] };
    // A copy: Postgres writes to the cluster it runs on, and the build's must stay as it was made.
    const copy = await mkdtemp(join(tmpdir(), 'leasehold-embedded-'));
    await cp(fileURLToPath(new URL(`dist/pglite/${name}`, root)), copy, { recursive: true });
    const cluster = await PGlite.create(copy);
    try {
      const { rows } = await cluster.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
      expect(rows[0]!.n).toBe(journal.entries.length);
    } finally {
      await cluster.close();
      await rm(copy, { recursive: true, force: true });
    }
  });

  it("starts again from the build's cluster where the copy of a first start was cut short", async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'leasehold-embedded-'));
    try {
      // What a process killed while copying leaves: some of the cluster's files, and no PG_VERSION (copied last).
      const first = await openDatabase({ url: undefined, pgliteDir: async () => otherDir, connectSocket: nodeNetwork.connectSocket });
      await first.close();
      await rm(join(otherDir, 'PG_VERSION'));
      await rm(join(otherDir, 'global'), { recursive: true });
      await writeFile(join(otherDir, 'postgresql.conf'), 'half written');
      const again = await openDatabase({ url: undefined, pgliteDir: async () => otherDir, connectSocket: nodeNetwork.connectSocket });
      try {
        expect(await systemId(again.db)).toBe(await systemId(app.services.db));
      } finally {
        await again.close();
      }
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('keeps the operator token and signing key in the data directory across restarts', async () => {
    const files = createFileStore(dataDir);
    expect((await files.read('admin-token'))?.trim()).toBe(app.generatedAdminToken);
    expect(await files.read('signing-key.pem')).toContain('BEGIN PRIVATE KEY');
  });
});
