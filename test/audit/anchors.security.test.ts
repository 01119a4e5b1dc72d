/**
 * The audit chain against whoever holds the database: its head is signed at intervals with a
 * key Postgres never sees (anchors), and verification recomputes every hash in the app, so a
 * rewrite with every later hash recomputed, rows cut off the end, a replaced hash function or a
 * forged anchor is reported. Played in a database of its own: the attacks replace functions and
 * rewrite rows, which no other suite must see.
 */
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Actor } from '../../src/services/context.ts';
import { appendAudit } from '../../src/services/audit/auditLog.ts';
import { anchorAuditChain, anchorAuditChains } from '../../src/services/audit/anchors.ts';
import { chainHash, type ChainRow } from '../../src/services/audit/chain.ts';
import { verifyAuditChain } from '../../src/services/audit/verification.ts';
import { DATABASE_URL, SERVER_ROLE_LOGIN, admin, startApp } from '../support/harness.ts';
import { freshOrganization } from '../support/organizations.ts';

const dbName = `leasehold_anchors_${process.pid}`;
const urlAs = (user: string) => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${dbName}`;
  url.username = user;
  return url.toString();
};
const root = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
let app: App;
/** The tables' owner (a superuser here), and the app's own login: the two attackers. */
let owner: postgres.Sql;
let asApp: postgres.Sql;

beforeAll(async () => {
  await root.unsafe(`drop database if exists ${dbName} with (force)`);
  await root.unsafe(`create database ${dbName}`);
  owner = postgres(urlAs(new URL(DATABASE_URL).username), { max: 1, onnotice: () => {} });
  app = await startApp({ DATABASE_URL: urlAs(SERVER_ROLE_LOGIN), MIGRATION_DATABASE_URL: urlAs(new URL(DATABASE_URL).username) });
  asApp = postgres(urlAs(SERVER_ROLE_LOGIN), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await asApp?.end();
  await app?.close();
  await owner?.end();
  await root.unsafe(`drop database if exists ${dbName} with (force)`);
  await root.end();
});

/** An organization with `n` audit rows. */
async function chainOf(n: number): Promise<Actor> {
  const actor = await freshOrganization(app);
  for (let i = 0; i < n; i++)
    await appendAudit(app.services.db, actor, [{ action: `test.${i}`, resourceType: 'test', resourceId: `r${i}` }]);
  return actor;
}

const verify = (orgId: string) => verifyAuditChain(app.services, orgId);

/** The owner working with every trigger off for its session, as a superuser can. */
const behindTheTriggers = (work: (tx: postgres.TransactionSql) => Promise<unknown>) =>
  owner.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await work(tx);
  });

type Stored = ChainRow & { prevHash: string | null; hash: string };
const rowsOf = (tx: postgres.TransactionSql | postgres.Sql, orgId: string) => tx<Stored[]>`
  select seq::text as seq, id, org_id as "orgId", actor_type as "actorType", actor_id as "actorId", action,
         resource_type as "resourceType", resource_id as "resourceId", data::text as data, request_id as "requestId",
         ((extract(epoch from created_at) * 1000000)::bigint)::text as "createdAtMicros",
         chain_version as "chainVersion", prev_hash as "prevHash", hash
    from audit_logs where org_id = ${orgId} order by audit_logs.seq`;

/** Rewrites one row's data and recomputes every hash from it on, so the chain alone still holds. */
async function rewriteAndRecompute(orgId: string, index: number, data: Record<string, unknown>) {
  await behindTheTriggers(async (tx) => {
    const rows = await rowsOf(tx, orgId);
    await tx`update audit_logs set data = ${tx.json(data as never)} where id = ${rows[index]!.id}`;
    const [stored] = await tx`select data::text as text from audit_logs where id = ${rows[index]!.id}`;
    rows[index]!.data = stored!.text;
    let previous = rows[index - 1]?.hash ?? null;
    for (const row of rows.slice(index)) {
      const hash = chainHash(previous, row)!;
      await tx`update audit_logs set prev_hash = ${previous}, hash = ${hash} where id = ${row.id}`;
      previous = hash;
    }
  });
}

describe('anchors of the audit chain', () => {
  it('are signed for every head that moved, once, and the verdict names the newest with the rows after it', async () => {
    const actor = await chainOf(3);
    expect(await verify(actor.orgId)).toMatchObject({ valid: true, checkedRows: 3, anchor: null, unanchoredRows: 3 });
    expect(await anchorAuditChains(app.services)).toBeGreaterThanOrEqual(1);
    const [head] = (await rowsOf(owner, actor.orgId)).slice(-1);
    const anchored = await verify(actor.orgId);
    expect(anchored).toMatchObject({ valid: true, unanchoredRows: 0, anchor: { seq: Number(head!.seq), hash: head!.hash } });
    expect(anchored.anchor!.keyId).toBe(app.services.signer.keyId);
    // Nothing moved: no second anchor of the same head.
    await anchorAuditChains(app.services);
    expect(await owner`select count(*)::int as n from audit_anchors where org_id = ${actor.orgId}`).toEqual([{ n: 1 }]);
    await appendAudit(app.services.db, actor, [{ action: 'test.after', resourceType: 'test', resourceId: 'x' }]);
    expect(await verify(actor.orgId)).toMatchObject({ valid: true, unanchoredRows: 1, anchor: { seq: Number(head!.seq) } });
    // On demand, through the API's service: the new head.
    const now = await anchorAuditChain(app.services, actor.orgId);
    expect(await verify(actor.orgId)).toMatchObject({ valid: true, unanchoredRows: 0, anchor: { id: now!.id } });
  });

  it('are answered by anchorAuditChain and shown by verifyAuditChain through the API', async () => {
    const made = await admin(app, `mutation { anchorAuditChain { seq hash keyId signedAt token } }`);
    expect(made.errors).toBeUndefined();
    const verdict = await admin(app, `{ verifyAuditChain { valid unanchoredRows anchor { seq hash } brokenAt { id seq reason } } }`);
    expect(verdict.data?.verifyAuditChain).toMatchObject({
      valid: true,
      unanchoredRows: 0,
      anchor: { seq: made.data?.anchorAuditChain.seq },
    });
  });
});

describe('a database attacker', () => {
  it('who rewrites a row and recomputes every later hash is reported at the next anchor', async () => {
    const actor = await chainOf(5);
    await anchorAuditChain(app.services, actor.orgId);
    const rows = await rowsOf(owner, actor.orgId);
    await rewriteAndRecompute(actor.orgId, 1, { tier: 'enterprise', maxSeats: 1000 });
    // The chain alone holds: every hash and link recomputed.
    const rewritten = await rowsOf(owner, actor.orgId);
    expect(
      rewritten.every((row, i) => row.hash === chainHash(row.prevHash, row) && row.prevHash === (rewritten[i - 1]?.hash ?? null)),
    ).toBe(true);
    expect(await verify(actor.orgId)).toMatchObject({
      valid: false,
      brokenAt: { id: rows[4]!.id, seq: Number(rows[4]!.seq), reason: 'anchor-mismatch' },
    });
  });

  it('who cuts rows off the end is reported: the anchored row is gone', async () => {
    const actor = await chainOf(4);
    await anchorAuditChain(app.services, actor.orgId);
    const rows = await rowsOf(owner, actor.orgId);
    await behindTheTriggers((tx) => tx`delete from audit_logs where id in ${tx([rows[2]!.id, rows[3]!.id])}`);
    expect(await verify(actor.orgId)).toMatchObject({
      valid: false,
      checkedRows: 2,
      brokenAt: { id: null, seq: Number(rows[3]!.seq), reason: 'truncated' },
    });
  });

  it('who replaces the hash function so the database vouches for every row is reported by the app', async () => {
    const actor = await chainOf(3);
    const rows = await rowsOf(owner, actor.orgId);
    // Answers the stored hash: a check by the database's own function passes whatever the row says.
    await owner.unsafe(`create or replace function audit_log_hash_v2(previous text, r public.audit_logs) returns text
      language plpgsql immutable as $$ begin return coalesce(r.hash, md5(r.id)); end $$`);
    try {
      await behindTheTriggers((tx) => tx`update audit_logs set action = 'license.deleted' where id = ${rows[1]!.id}`);
      const [vouched] = await owner`
        select count(*)::int as n from audit_logs a where org_id = ${actor.orgId} and hash is distinct from audit_log_hash_v2(prev_hash, a)`;
      expect(vouched).toEqual({ n: 0 });
      expect(await verify(actor.orgId)).toMatchObject({ valid: false, brokenAt: { id: rows[1]!.id, reason: 'hash-mismatch' } });
      // Rows written while it is in place carry its hashes, which the app refuses too.
      const other = await chainOf(1);
      expect(await verify(other.orgId)).toMatchObject({ valid: false, brokenAt: { reason: 'hash-mismatch' } });
    } finally {
      // The function as drizzle/0022 made it, for the tests after this one.
      const migration = await readFile(new URL('../../drizzle/0022_audit_chain_v2.sql', import.meta.url), 'utf8');
      await owner.unsafe(migration.split('--> statement-breakpoint')[0]!);
    }
  });

  it("who forges an anchor past the end is reported, and as the app's role can neither change nor remove one", async () => {
    const actor = await chainOf(2);
    const anchor = await anchorAuditChain(app.services, actor.orgId);
    const [forged] = anchor!.token.split('.');
    await asApp`insert into audit_anchors (id, org_id, seq, hash, key_id, token, signed_at)
                values ('anc_forged', ${actor.orgId}, ${anchor!.seq + 1_000_000}, 'f00d', ${anchor!.keyId}, ${`${forged}.e30.AAAA`}, now())`;
    expect(await verify(actor.orgId)).toMatchObject({ valid: false, brokenAt: { seq: anchor!.seq + 1_000_000, reason: 'anchor-forged' } });
    await expect(asApp`update audit_anchors set seq = 1 where id = ${anchor!.id}`).rejects.toThrow(/permission denied/);
    await expect(asApp`delete from audit_anchors where id = ${anchor!.id}`).rejects.toThrow(/permission denied/);
    await expect(asApp`truncate audit_anchors`).rejects.toThrow(/permission denied/);
    await expect(owner`delete from audit_anchors where id = ${anchor!.id}`).rejects.toThrow(/append-only/);
  });
});
