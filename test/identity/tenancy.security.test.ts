/** Two organizations on one server: neither can see or change the other's data, by API or by SQL. */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql as drizzleSql } from 'drizzle-orm';
import type { App } from '../../src/app.ts';
import { rowsOf } from '../../src/db/client.ts';
import { inTenant, inTenantStatement } from '../../src/db/tenant.ts';
import { licenses } from '../../src/db/schema.ts';
import { DATABASE_URL, acquire, gql, startApp } from '../support/harness.ts';
import { collect, serve, wsClient } from '../support/server.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let server: Awaited<ReturnType<typeof serve>>;
let a: Awaited<ReturnType<typeof seedOrganization>>;
let b: Awaited<ReturnType<typeof seedOrganization>>;
let licenseOfA: { id: string; key: string };
let sessionOfA: string;
const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });

beforeAll(async () => {
  app = await startApp();
  server = await serve(app);
  [a, b] = await Promise.all([seedOrganization(app), seedOrganization(app)]);
  const created = await gql(
    app,
    `mutation { createLicense(input: { tier: "pro", features: [], maxSeats: 2 }) { ... on LicenseCreated { key license { id } } } }`,
    {},
    a.token,
  );
  licenseOfA = { id: created.data!.createLicense.license.id, key: created.data!.createLicense.key };
  sessionOfA = (await acquire(app, licenseOfA.key, 'a-machine')).session.id;
});
afterAll(async () => {
  await sql.end();
  await server.close();
  await app.close();
});

describe('tenant isolation', () => {
  it("shows another organization's license, sessions and audit trail as if they did not exist", async () => {
    const r = await gql(
      app,
      `query($id: ID!, $resource: String!, $session: ID!) {
        license(id: $id) { id }
        session(id: $session) { id }
        sessions(licenseId: $id) { edges { node { id } } }
        licenses { edges { node { id } } }
        auditLogs(filter: { resourceId: $resource }) { edges { node { id } } }
      }`,
      { id: licenseOfA.id, resource: licenseOfA.id, session: sessionOfA },
      b.token,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ license: null, session: null, sessions: { edges: [] }, licenses: { edges: [] }, auditLogs: { edges: [] } });
    const own = await gql(app, `query($id: ID!) { license(id: $id) { id } }`, { id: licenseOfA.id }, a.token);
    expect(own.data?.license).toEqual({ id: licenseOfA.id });
  });

  it("changes nothing of another organization's: every mutation answers not found", async () => {
    const license = (m: string, input: string) =>
      gql(app, `mutation($id: ID!) { ${m}(input: { id: $id${input} }) { __typename } }`, { id: licenseOfA.id }, b.token);
    expect((await license('updateLicense', ', maxSeats: 100')).data?.updateLicense.__typename).toBe('LicenseNotFound');
    expect((await license('suspendLicense', '')).data?.suspendLicense.__typename).toBe('LicenseNotFound');
    expect((await license('revokeLicense', '')).data?.revokeLicense.__typename).toBe('LicenseNotFound');
    expect((await license('renewLicense', ', expiresAt: "2040-01-01T00:00:00Z"')).data?.renewLicense.__typename).toBe('LicenseNotFound');
    const revoke = await gql(app, `mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`, { id: sessionOfA }, b.token);
    expect(revoke.data?.revokeSession.__typename).toBe('SessionNotFound');
    expect((await app.services.seats.count(licenseOfA.id))?.used).toBe(1);
    const still = await gql(app, `query($id: ID!) { license(id: $id) { status maxSeats } }`, { id: licenseOfA.id }, a.token);
    expect(still.data?.license).toEqual({ status: 'ACTIVE', maxSeats: 2 });
  });

  it("refuses a subscription to another organization's seat count", async () => {
    const client = wsClient(server.wsUrl, b.token);
    await expect(
      collect(client, `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used } }`, { id: licenseOfA.id }).until(1),
    ).rejects.toThrow(/No license/);
    await client.dispose();
  });

  it('runs tenant work, and a tenant statement with COMMIT sent behind it, as the app role inside the organization', async () => {
    const asSeen = drizzleSql<string>`current_user || ':' || current_setting('app.org_id', true)`;
    const expected = `leasehold_app:${a.orgId}`;
    const [raw, built] = await inTenant(app.services.db, a.orgId, (tx) =>
      Promise.all([tx.execute(drizzleSql`select ${asSeen} as seen`), tx.select({ seen: asSeen }).from(licenses).limit(1)]),
    );
    expect(rowsOf<{ seen: string }>(raw)[0]?.seen).toBe(expected);
    expect(built[0]?.seen).toBe(expected);
    const [statement] = await inTenantStatement<{ seen: string }>(app.services.db, a.orgId, drizzleSql`select ${asSeen} as seen`);
    expect(statement?.seen).toBe(expected);
  });

  it('holds in raw SQL run as the app role with the other organization set', async () => {
    await sql.begin(async (tx) => {
      await tx`select set_config('app.org_id', ${b.orgId}, true), set_config('role', 'leasehold_app', true)`;
      expect(await tx`select id from licenses where id = ${licenseOfA.id}`).toHaveLength(0);
      expect(await tx`select id from seat_sessions where license_id = ${licenseOfA.id}`).toHaveLength(0);
      expect(await tx`select id from audit_logs where org_id = ${a.orgId}`).toHaveLength(0);
      expect(await tx`select id from organizations where id = ${a.orgId}`).toHaveLength(0);
      expect((await tx`update licenses set max_seats = 1000 where id = ${licenseOfA.id}`).count).toBe(0);
      expect((await tx`delete from seat_sessions where id = ${sessionOfA}`).count).toBe(0);
    });
    await expect(
      sql.begin(async (tx) => {
        await tx`select set_config('app.org_id', ${b.orgId}, true), set_config('role', 'leasehold_app', true)`;
        await tx`insert into machines (license_id, fingerprint, org_id) values (${licenseOfA.id}, 'planted', ${a.orgId})`;
      }),
    ).rejects.toThrow(/row-level security/);
  });

  it('sees nothing at all as the app role with no organization set', async () => {
    await sql.begin(async (tx) => {
      await tx`select set_config('role', 'leasehold_app', true)`;
      expect(await tx`select id from licenses`).toHaveLength(0);
    });
  });
});
