/**
 * Ends sessions in Postgres whose leases expired in the seat store, audits them, and lets the
 * store announce the new counts. Any number of instances may sweep at once: candidates are
 * claimed with FOR UPDATE SKIP LOCKED and each row is ended at most once.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { loadLicenseSeats } from './loading.ts';
import { endSessions } from '../sessions/sessions.ts';
import { recordLeaseProgress } from '../sessions/heartbeatBuffer.ts';

const BATCH = 500;

interface Candidate {
  id: string;
  license_id: string;
  org_id: string;
  expires_at: string | Date;
}

/** One sweep; returns how many sessions it ended. */
export async function sweepExpiredSessions(ctx: ServiceContext): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const result = await tx.execute(sql`
      select id, license_id, org_id, expires_at from seat_sessions
       where ended_at is null and expires_at <= now()
       order by expires_at limit ${BATCH}
       for update skip locked`);
    const candidates = rowsOf<Candidate>(result);
    const byLicense = new Map<string, Candidate[]>();
    for (const c of candidates) {
      const list = byLicense.get(c.license_id) ?? [];
      list.push(c);
      byLicense.set(c.license_id, list);
    }
    let ended = 0;
    for (const [licenseId, sessions] of byLicense) {
      const ids = sessions.map((s) => s.id);
      let reaped = await ctx.seats.reap(licenseId, ids);
      if (!reaped) {
        await loadLicenseSeats(ctx, licenseId);
        reaped = (await ctx.seats.reap(licenseId, ids)) ?? [];
      }
      const expiresAt = new Map(sessions.map((s) => [s.id, new Date(s.expires_at)]));
      const finished = reaped
        .filter((r) => r.state !== 'held')
        .map((r) => ({ id: r.sessionId, endedAt: r.state === 'removed' ? new Date(r.expiresAtMs) : expiresAt.get(r.sessionId)! }));
      await recordLeaseProgress(
        tx,
        reaped.filter((r) => r.state === 'held').map((r) => ({ sessionId: r.sessionId, expiresAt: new Date(r.expiresAtMs) })),
      );
      const actor: Actor = { type: 'system', id: 'sweeper', orgId: sessions[0]!.org_id, requestId: null };
      ended += (await endSessions(tx, actor, finished, 'EXPIRED')).length;
    }
    return ended;
  });
}
