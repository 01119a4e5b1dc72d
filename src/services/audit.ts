/** The audit log: one row per action, written in the same transaction as the action. */
import type { Database } from '../db/client.ts';
import { auditLogs } from '../db/schema.ts';
import type { Actor } from './context.ts';
import { newId } from './ids.ts';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId: string;
  data?: Record<string, unknown>;
  at?: Date;
}

export async function appendAudit(tx: Transaction | Database, actor: Actor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.insert(auditLogs).values(
    entries.map((e) => ({
      id: newId('aud'),
      orgId: actor.orgId,
      actorType: actor.type,
      actorId: actor.id,
      action: e.action,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      data: e.data ?? {},
      requestId: actor.requestId,
      ...(e.at ? { createdAt: e.at } : {}),
    })),
  );
}
