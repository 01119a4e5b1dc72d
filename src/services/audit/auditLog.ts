/**
 * The audit log: one row per action, written in the same transaction as the action. Postgres
 * makes it append-only and chains each organization's rows by hash (drizzle/0002).
 */
import { and, count, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db/client.ts';
import type { AuditLogRow } from '../../db/rows.ts';
import type { Transaction } from '../../db/tenant.ts';
import { auditLogs } from '../../db/schema.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { newId } from '../../lib/ids.ts';
import { tenantWork } from '../database.ts';
import { err, InvalidInput, ok, type Result } from '../errors.ts';

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId: string;
  data?: Record<string, unknown>;
  at?: Date;
}

export async function appendAudit(tx: Transaction | Database, actor: Actor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.execute(sql`with ${auditWrites(actor, auditEntries(entries))} select 1`);
}

/** Entries written from JavaScript, as the `source` of `auditWrites`. */
function auditEntries(entries: AuditEntry[]): SQL {
  const rows = entries.map((e) => ({
    id: newId('aud'),
    action: e.action,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    data: e.data ?? {},
    created_at: e.at ?? null,
  }));
  return sql`select id, action, resource_type, resource_id, data, created_at from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
    as entry(id text, action text, resource_type text, resource_id text, data jsonb, created_at timestamptz)`;
}

/**
 * The common table expression of a statement that appends `actor`'s audit rows: one per row
 * `source` answers (in its order, with the columns id, action, resource type, resource id, data
 * and time, in this order; no time is the transaction's). The chain trigger fills in the rest.
 */
export function auditWrites(actor: Actor, source: SQL): SQL {
  return sql`written_audit as (
      insert into audit_logs (id, org_id, actor_type, actor_id, action, resource_type, resource_id, data, request_id, created_at)
      select id, ${actor.orgId}, ${actor.type}, ${actor.id}, action, resource_type, resource_id, data, ${actor.requestId},
             coalesce(created_at, now())
        from (${source}) as source(id, action, resource_type, resource_id, data, created_at))`;
}

export interface AuditFilter {
  action?: string | null;
  actorId?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** Newest first, by chain position; the cursor is the `seq` of the last row of the previous page. */
export async function listAuditLogs(
  ctx: ServiceContext,
  orgId: string,
  options: { filter?: AuditFilter | null; first: number; after?: string | null },
): Promise<Result<{ rows: AuditLogRow[]; hasNextPage: boolean }, InvalidInput>> {
  const after = options.after == null ? null : Number(options.after);
  if (after !== null && !Number.isSafeInteger(after)) return err(new InvalidInput('after is not a cursor of this list', 'after'));
  const f = options.filter ?? {};
  const conditions: SQL[] = [eq(auditLogs.orgId, orgId)];
  if (f.action) conditions.push(eq(auditLogs.action, f.action));
  if (f.actorId) conditions.push(eq(auditLogs.actorId, f.actorId));
  if (f.resourceType) conditions.push(eq(auditLogs.resourceType, f.resourceType));
  if (f.resourceId) conditions.push(eq(auditLogs.resourceId, f.resourceId));
  if (f.from) conditions.push(gte(auditLogs.createdAt, f.from));
  if (f.to) conditions.push(lt(auditLogs.createdAt, f.to));
  if (after !== null) conditions.push(lt(auditLogs.seq, after));
  const rows = await tenantWork(ctx, orgId, (tx) =>
    tx
      .select()
      .from(auditLogs)
      .where(and(...conditions))
      .orderBy(desc(auditLogs.seq))
      .limit(options.first + 1),
  );
  return ok({ rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first });
}

export interface AuditChainVerdict {
  valid: boolean;
  checkedRows: number;
  /** The first row whose hash or link does not match, when the chain is broken. */
  brokenAt: { id: string; seq: number; reason: 'hash-mismatch' | 'link-mismatch' } | null;
}

/**
 * Recomputes every hash of the organization's chain in Postgres, with the same function the
 * insert trigger uses, and checks each row links to the one before it.
 */
export async function verifyAuditChain(ctx: ServiceContext, orgId: string): Promise<AuditChainVerdict> {
  const result = await tenantWork(ctx, orgId, (tx) =>
    tx.execute(sql`
      with chain as (
        select id, seq, hash, prev_hash,
               lag(hash) over (order by seq) as previous_hash,
               audit_log_hash(prev_hash, a) as recomputed
          from audit_logs a where org_id = ${orgId})
      select (select count(*) from chain)::int as checked, id, seq::bigint as seq,
             case when hash is distinct from recomputed then 'hash-mismatch' else 'link-mismatch' end as reason
        from chain
       where hash is distinct from recomputed or prev_hash is distinct from previous_hash
       order by seq limit 1`),
  );
  const rows = rowsOf<{
    checked: number;
    id: string;
    seq: string | number;
    reason: 'hash-mismatch' | 'link-mismatch';
  }>(result);
  const broken = rows[0];
  if (!broken) {
    const [{ n } = { n: 0 }] = await tenantWork(ctx, orgId, (tx) =>
      tx.select({ n: count() }).from(auditLogs).where(eq(auditLogs.orgId, orgId)),
    );
    return { valid: true, checkedRows: n, brokenAt: null };
  }
  return { valid: false, checkedRows: broken.checked, brokenAt: { id: broken.id, seq: Number(broken.seq), reason: broken.reason } };
}
