/** The audit log is append-only and tamper-evident. */
import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { appendAudit } from '../../src/services/audit/auditLog.ts';
import { verifyAuditChain } from '../../src/services/audit/verification.ts';
import { DATABASE_URL, SERVER_DATABASE_URL, acquire, admin, createLicense, startApp } from '../support/harness.ts';
import { freshOrganization, seedOrganization } from '../support/organizations.ts';

let app: App;
/** The tables' owner, a superuser here: what the app's role cannot do. */
const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });

/** Runs `work` as the owner with every trigger off for this session only (no table lock). */
const behindTheTriggers = (work: (tx: postgres.TransactionSql) => Promise<unknown>) =>
  sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await work(tx);
  });
const verify = (orgId: string) => verifyAuditChain(app.services, orgId);
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await sql.end();
  await app.close();
});

const AUDIT = `query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) { edges { cursor node { id action resourceId actorType } } pageInfo { hasNextPage endCursor } } }`;
const VERIFY = `{ verifyAuditChain { valid checkedRows brokenAt { id seq reason } } }`;

describe('audit log', () => {
  it('records license and seat actions, filterable by resource and action, newest first with pages', async () => {
    const license = await createLicense(app, { maxSeats: 2 });
    const a = await acquire(app, license.key, 'a');
    await acquire(app, license.key, 'b');
    const created = await admin(app, AUDIT, { filter: { resourceId: license.id } });
    expect(created.data?.auditLogs.edges.map((e: { node: { action: string } }) => e.node.action)).toEqual(['license.created']);

    const seats = await admin(app, AUDIT, { filter: { action: 'seat.acquired', actorId: license.id }, first: 1 });
    expect(seats.data?.auditLogs.edges[0].node).toMatchObject({ action: 'seat.acquired', actorType: 'license' });
    expect(seats.data?.auditLogs.pageInfo.hasNextPage).toBe(true);
    const next = await admin(app, AUDIT, {
      filter: { action: 'seat.acquired', actorId: license.id },
      first: 1,
      after: seats.data?.auditLogs.pageInfo.endCursor,
    });
    expect(next.data?.auditLogs.edges[0].node.resourceId).toBe(a.session.id);
    expect(next.data?.auditLogs.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses UPDATE, DELETE and TRUNCATE by SQL', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await expect(sql`update audit_logs set action = 'x' where resource_id = ${license.id}`).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_logs where resource_id = ${license.id}`).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_logs`).rejects.toThrow(/append-only/);
  });

  it('chains each row by a SHA-256 that anyone can recompute from the row and the hash before it', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await acquire(app, license.key, 'auditor');
    const [row] = await sql`
      select seq::text, id, org_id, actor_type, actor_id, action, resource_type, resource_id, data::text as data, request_id,
             ((extract(epoch from created_at) * 1000000)::bigint)::text as micros, chain_version, prev_hash, hash
        from audit_logs where actor_id = ${license.id} and action = 'seat.acquired'`;
    const [previous] = await sql`select hash from audit_logs where org_id = ${row!.org_id} and seq < ${row!.seq} order by seq desc limit 1`;
    // The documented form (version 2): a tag, then each field as its UTF-8 length, ':', the value
    // and ',', NULL as '-', the time in microseconds since the epoch.
    const field = (value: string | null) => (value === null ? '-' : `${Buffer.byteLength(value)}:${value},`);
    const fields = ['leasehold-audit-v2', previous!.hash, row!.seq, row!.id, row!.org_id, row!.actor_type, row!.actor_id, row!.action];
    const content = [...fields, row!.resource_type, row!.resource_id, row!.data, row!.request_id, row!.micros].map(field).join('');
    expect(row!.chain_version).toBe(2);
    expect(row!.prev_hash).toBe(previous!.hash);
    expect(row!.hash).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('takes the time from the database, whatever the inserting statement says', async () => {
    const { orgId } = await seedOrganization(app);
    const asApp = postgres(SERVER_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const [row] = await asApp`
        insert into audit_logs (id, org_id, actor_type, action, resource_type, resource_id, created_at)
        values (${`aud_${crypto.randomUUID()}`}, ${orgId}, 'system', 'clock.test', 'test', 'x', '2001-01-01T00:00:00Z')
        returning created_at, (select now()) as now`;
      expect(Math.abs(row!.created_at.getTime() - row!.now.getTime())).toBeLessThan(60_000);
    } finally {
      await asApp.end();
    }
    expect((await verify(orgId)).valid).toBe(true);
  });

  it('tells a NULL from an empty value, and keeps field boundaries: changing one into the other breaks the chain', async () => {
    const { orgId } = await seedOrganization(app);
    const asApp = postgres(SERVER_DATABASE_URL, { max: 1, onnotice: () => {} });
    const id = `aud_${crypto.randomUUID()}`;
    try {
      // Values that version 1 could not tell apart: '' and NULL, and a value holding its separator.
      await asApp`
        insert into audit_logs (id, org_id, actor_type, actor_id, action, resource_type, resource_id, data, request_id)
        values (${id}, ${orgId}, 'system', '', 'boundary.test', ${'a\x1fb:2,'}, ${'é 🙂'}, ${sql.json({ note: 'x\x1fy' })}, null)`;
    } finally {
      await asApp.end();
    }
    expect(await verify(orgId)).toMatchObject({ valid: true, brokenAt: null });
    await behindTheTriggers((tx) => tx`update audit_logs set actor_id = null where id = ${id}`);
    expect(await verify(orgId)).toMatchObject({ valid: false, brokenAt: { id, reason: 'hash-mismatch' } });
  });

  it('verifies rows of version 1 as they were written, followed by rows of version 2', async () => {
    const actor = await freshOrganization(app);
    // Two rows as drizzle/0006's trigger wrote them, before version 2 existed.
    let previous: string | null = null;
    for (const n of [1, 2]) {
      const id = `aud_v1_${crypto.randomUUID()}`;
      await behindTheTriggers(async (tx) => {
        await tx`insert into audit_logs (id, org_id, actor_type, actor_id, action, resource_type, resource_id, data, request_id)
                 values (${id}, ${actor.orgId}, 'operator', null, ${`legacy.${n}`}, 'test', 'x', '{}', null)`;
        [{ hash: previous }] = await tx`update audit_logs a set prev_hash = ${previous}, hash = audit_log_hash(${previous}, a)
                                          where id = ${id} returning hash`;
      });
    }
    await appendAudit(app.services.db, actor, [{ action: 'current.1', resourceType: 'test', resourceId: 'x' }]);
    const versions = await sql`select chain_version from audit_logs where org_id = ${actor.orgId} order by seq`;
    expect(versions.map((v) => v.chain_version)).toEqual([1, 1, 2]);
    expect(await verify(actor.orgId)).toMatchObject({ valid: true, checkedRows: 3, brokenAt: null });
    // A row of version 2 passed off as version 1 is found.
    const [last] = await sql`select id from audit_logs where org_id = ${actor.orgId} order by seq desc limit 1`;
    await behindTheTriggers((tx) => tx`update audit_logs set chain_version = 1 where id = ${last!.id}`);
    expect((await verify(actor.orgId)).brokenAt).toMatchObject({ id: last!.id, reason: 'hash-mismatch' });
  });

  it('verifies an intact chain, and finds a row changed behind the trigger by a superuser', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    expect((await admin(app, VERIFY)).data?.verifyAuditChain).toMatchObject({ valid: true, brokenAt: null });
    const [row] = await sql`select id from audit_logs where resource_id = ${license.id} and action = 'license.created'`;
    await sql.begin(async (tx) => {
      await tx`alter table audit_logs disable trigger audit_logs_no_update_delete`;
      await tx`update audit_logs set data = '{"tier":"enterprise","maxSeats":1000}' where id = ${row!.id}`;
      await tx`alter table audit_logs enable trigger audit_logs_no_update_delete`;
    });
    try {
      const verdict = (await admin(app, VERIFY)).data?.verifyAuditChain;
      expect(verdict).toMatchObject({ valid: false, brokenAt: { id: row!.id, reason: 'hash-mismatch' } });
    } finally {
      // Put the row back as it was so the shared organization's chain is whole for other suites.
      await sql.begin(async (tx) => {
        await tx`alter table audit_logs disable trigger audit_logs_no_update_delete`;
        await tx`update audit_logs set data = jsonb_build_object('tier', 'pro', 'maxSeats', 1) where id = ${row!.id}`;
        await tx`alter table audit_logs enable trigger audit_logs_no_update_delete`;
      });
    }
    expect((await admin(app, VERIFY)).data?.verifyAuditChain.valid).toBe(true);
  });
});
