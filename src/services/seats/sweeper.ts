/**
 * Ends sessions in Postgres whose leases expired in the seat store, audits them, and lets the
 * store announce the new counts; ends queue tickets the same way. Any number of instances may
 * sweep at once: candidates are claimed with FOR UPDATE SKIP LOCKED and each row is ended at
 * most once.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { loadLicenseSeats } from './loading.ts';
import { endSessions } from '../sessions/sessions.ts';
import { recordLeaseProgress } from '../sessions/heartbeatBuffer.ts';
import { ticketsEnded, type TicketEnd } from './queueRecord.ts';
import type { Transaction } from '../../db/tenant.ts';

const BATCH = 500;

interface Candidate {
  id: string;
  license_id: string;
  org_id: string;
  expires_at: string | Date;
}

/** The rows by `key`, each group in the rows' order (Map.groupBy, which needs ES2024's lib). */
function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group) group.push(row);
    else groups.set(key(row), [row]);
  }
  return groups;
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
    let ended = 0;
    for (const [licenseId, sessions] of groupBy(candidates, (c) => c.license_id)) {
      const ids = sessions.map((s) => s.id);
      let reaped = await ctx.seats.reap(licenseId, ids);
      if (!reaped) {
        await loadLicenseSeats(ctx, licenseId);
        reaped = await ctx.seats.reap(licenseId, ids);
        if (!reaped) continue; // gone again at once: the next sweep takes these sessions
      }
      const expiresAt = new Map(sessions.map((s) => [s.id, new Date(s.expires_at)]));
      const finished = reaped.sessions
        .filter((r) => r.state !== 'held')
        .map((r) => ({ id: r.sessionId, endedAt: r.state === 'removed' ? new Date(r.expiresAtMs) : expiresAt.get(r.sessionId)! }));
      await recordLeaseProgress(
        tx,
        reaped.sessions.filter((r) => r.state === 'held').map((r) => ({ sessionId: r.sessionId, expiresAt: new Date(r.expiresAtMs) })),
      );
      const actor: Actor = { type: 'system', id: 'sweeper', orgId: sessions[0]!.org_id, requestId: null };
      ended += (await endSessions(tx, actor, finished, 'EXPIRED', reaped.seats)).length;
    }
    return ended;
  });
}

interface TicketCandidate {
  id: string;
  license_id: string;
  org_id: string;
}

/**
 * One sweep of queue tickets whose recorded expiry has passed: each is asked of the store
 * (loading its license if Redis lost it, which puts the open tickets back); one still open has
 * its recorded expiry moved to the store's, an ended or forgotten one is ended here with
 * `seat.dequeued`. Returns how many it ended.
 */
export async function sweepLapsedTickets(ctx: ServiceContext): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const candidates = rowsOf<TicketCandidate>(
      await tx.execute(sql`
        select id, license_id, org_id from seat_queue_tickets
         where ended_at is null and expires_at <= now()
         order by expires_at limit ${BATCH}
         for update skip locked`),
    );
    let ended = 0;
    for (const tickets of groupBy(candidates, (c) => c.org_id).values()) {
      const ends: { ticketId: string; endedAt: Date; reason: TicketEnd }[] = [];
      const kept: { id: string; expires_at: Date }[] = [];
      for (const { id, license_id: licenseId } of tickets) {
        let read = await ctx.seats.ticket(licenseId, id, 'read');
        if (read.kind === 'unloaded') {
          await loadLicenseSeats(ctx, licenseId);
          read = await ctx.seats.ticket(licenseId, id, 'read');
          if (read.kind === 'unloaded') continue; // gone again at once: the next sweep asks again
        }
        const { ticket, nowMs } = read;
        if (ticket?.status === 'WAITING' || ticket?.status === 'READY') kept.push({ id, expires_at: new Date(ticket.expiresAtMs) });
        else {
          const reason = ticket?.status === 'CLAIMED' || ticket?.status === 'LEFT' ? ticket.status : 'EXPIRED';
          ends.push({ ticketId: id, endedAt: new Date(nowMs), reason });
        }
      }
      await keepTickets(tx, kept);
      if (ends.length > 0) {
        await tx.execute(ticketsEnded({ type: 'system', id: 'sweeper', orgId: tickets[0]!.org_id, requestId: null }, ends));
        ended += ends.length;
      }
    }
    return ended;
  });
}

async function keepTickets(tx: Transaction, kept: { id: string; expires_at: Date }[]): Promise<void> {
  if (kept.length === 0) return;
  await tx.execute(sql`
    update seat_queue_tickets set expires_at = kept.expires_at
      from jsonb_to_recordset(${JSON.stringify(kept)}::jsonb) as kept(id text, expires_at timestamptz)
     where seat_queue_tickets.id = kept.id`);
}
