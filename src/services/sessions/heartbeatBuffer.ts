/**
 * Heartbeats touch Redis only; what Postgres should know of them (last heartbeat, new expiry)
 * is collected here and written in one statement per flush.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { Transaction } from '../../db/tenant.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import type { HeartbeatBuffer } from '../context.ts';

export interface LeaseProgress {
  sessionId: string;
  /** omit when only the expiry is known (the sweeper learning it from the seat store) */
  lastHeartbeatAt?: Date;
  expiresAt: Date;
}

/** Moves open sessions' heartbeat and expiry forward (never back) in one statement. */
export async function recordLeaseProgress(db: Database | Transaction, progress: LeaseProgress[]): Promise<void> {
  if (progress.length === 0) return;
  const rows = progress.map((p) => ({
    id: p.sessionId,
    at: p.lastHeartbeatAt?.toISOString() ?? null,
    expires_at: p.expiresAt.toISOString(),
  }));
  await db.execute(sql`
    update seat_sessions s
       set last_heartbeat_at = greatest(s.last_heartbeat_at, coalesce(v.at, s.last_heartbeat_at)),
           expires_at = greatest(s.expires_at, v.expires_at)
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id text, at timestamptz, expires_at timestamptz)
     where s.id = v.id and s.ended_at is null`);
}

export function createHeartbeatBuffer(db: Database): HeartbeatBuffer {
  // A newer heartbeat of a session replaces an older one, also one whose write failed.
  const buffer = createBatchBuffer<string, { at: Date; expiresAt: Date }>({
    write: (batch) =>
      recordLeaseProgress(
        db,
        Array.from(batch, ([sessionId, v]) => ({ sessionId, lastHeartbeatAt: v.at, expiresAt: v.expiresAt })),
      ),
  });
  return {
    record: (sessionId, at, expiresAt) => buffer.record(sessionId, { at, expiresAt }),
    flush: () => buffer.flush(),
  };
}
