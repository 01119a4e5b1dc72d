/**
 * The audit log: one row per action, written in the same transaction as the action. Postgres
 * makes it append-only and chains each organization's rows by hash (drizzle/0002, 0022);
 * verification.ts checks the chain.
 */
import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
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
  }));
  return sql`select id, action, resource_type, resource_id, data from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
    as entry(id text, action text, resource_type text, resource_id text, data jsonb)`;
}

/**
 * The common table expression of a statement that appends `actor`'s audit rows: one per row
 * `source` answers (in its order, with the columns id, action, resource type, resource id and
 * data, in this order). The chain trigger fills in the rest, the time included: the database's
 * clock under the chain's lock, never the caller's.
 */
export function auditWrites(actor: Actor, source: SQL): SQL {
  return sql`written_audit as (
      insert into audit_logs (id, org_id, actor_type, actor_id, action, resource_type, resource_id, data, request_id)
      select id, ${actor.orgId}, ${actor.type}, ${actor.id}, action, resource_type, resource_id, data, ${actor.requestId}
        from (${source}) as source(id, action, resource_type, resource_id, data))`;
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
