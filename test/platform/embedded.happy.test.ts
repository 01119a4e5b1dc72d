/** The embedded default: no environment at all gives PGlite and the in-process seat store. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { acquire, gql, heartbeat, release } from '../support/harness.ts';

let app: App;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'leasehold-embedded-'));
  app = await createApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { files: createFileStore(dataDir), background: false });
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
  });

  it('keeps the operator token and signing key in the data directory across restarts', async () => {
    const files = createFileStore(dataDir);
    expect((await files.read('admin-token'))?.trim()).toBe(app.generatedAdminToken);
    expect(await files.read('signing-key.pem')).toContain('BEGIN PRIVATE KEY');
  });
});
