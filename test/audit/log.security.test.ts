/** The audit log is append-only and tamper-evident. */
import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { DATABASE_URL, acquire, admin, createLicense, startApp } from '../support/harness.ts';

let app: App;
const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await sql.end();
  await app.close();
});

const AUDIT = `query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) { edges { cursor node { id action resourceId actorType } } pageInfo { hasNextPage endCursor } } }`;
const VERIFY = `{ verifyAuditChain { valid checkedRows brokenAt { id reason } } }`;

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
             extract(epoch from created_at)::text as epoch, prev_hash, hash
        from audit_logs where actor_id = ${license.id} and action = 'seat.acquired'`;
    const [previous] = await sql`select hash from audit_logs where org_id = ${row!.org_id} and seq < ${row!.seq} order by seq desc limit 1`;
    // The documented form: fields joined by U+001F, created_at in UTC to the microsecond, after the previous hash and U+001E.
    const [seconds, fraction = ''] = (row!.epoch as string).split('.');
    const createdAt = `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction.padEnd(6, '0')}Z`;
    const fields = [row!.seq, row!.id, row!.org_id, row!.actor_type, row!.actor_id ?? '', row!.action, row!.resource_type];
    const content = [...fields, row!.resource_id, row!.data, row!.request_id ?? '', createdAt].join('\x1f');
    expect(row!.prev_hash).toBe(previous!.hash);
    expect(row!.hash).toBe(createHash('sha256').update(`${previous!.hash}\x1e${content}`).digest('hex'));
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
