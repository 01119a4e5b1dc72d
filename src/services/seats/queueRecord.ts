/**
 * The seat queue's record in Postgres: each ticket from the moment it joins the line to the
 * moment it leaves it, with a `seat.queued` and a `seat.dequeued` event and their audit rows, so
 * that integrations hear of the line and a line survives Redis losing its data (the rebuild
 * puts the open tickets back in the order they came, loading.ts).
 *
 * The seat store decides and keeps each ticket's heartbeats, as it does a lease's; `expires_at`
 * here is only when the sweeper next asks the store whether the ticket still waits. A ticket
 * that lapsed, or whose claim or leave was not recorded (Postgres down at that moment), is
 * ended by that sweep (sweeper.ts) with what the store says of it, so no `seat.dequeued` is lost.
 */
import { sql, type SQL } from 'drizzle-orm';
import { inTenantStatement } from '../../db/tenant.ts';
import type { QueueTicket, SeatCount } from '../../stores/seats/contract.ts';
import { auditWrites } from '../audit/auditLog.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { eventWrites, queueTicketDataSql } from '../webhooks/events.ts';
import { newId } from '../../lib/ids.ts';

export type TicketEnd = 'CLAIMED' | 'LEFT' | 'EXPIRED';

/** One statement that records a ticket the store opened: its row, the audit row and `seat.queued` with its place and the count. */
export function ticketQueued(actor: Actor, ticket: QueueTicket, queuedAt: Date, seats: SeatCount): SQL {
  return sql`
    with queued as (
      insert into seat_queue_tickets (id, org_id, license_id, fingerprint, user_id, process_id, queued_at, expires_at)
      values (${ticket.ticketId}, ${actor.orgId}, ${ticket.licenseId}, ${ticket.fingerprint}, ${ticket.userId}, ${ticket.processId},
              ${queuedAt.toISOString()}::timestamptz, ${new Date(ticket.expiresAtMs).toISOString()}::timestamptz)
      on conflict (id) do nothing
      returning *),
    ${auditWrites(
      actor,
      sql`select ${newId('aud')}::text, 'seat.queued', 'queue_ticket', id,
                 jsonb_build_object('licenseId', license_id, 'fingerprint', fingerprint, 'position', ${ticket.position}::int)
            from queued`,
    )},
    ${eventWrites(
      actor.orgId,
      sql`select ${newId('evt')}::text, 'seat.queued',
                 jsonb_build_object('ticket', ${queueTicketDataSql()}, 'position', ${ticket.position}::int, 'seats', ${JSON.stringify(seats)}::jsonb)
            from queued`,
    )}
    select 1`;
}

/** One statement that ends open tickets, each with its reason and time, with an audit row and `seat.dequeued` each; ended ones are left. */
export function ticketsEnded(actor: Actor, ends: { ticketId: string; endedAt: Date; reason: TicketEnd }[]): SQL {
  const rows = ends.map((end) => ({ id: end.ticketId, ended_at: end.endedAt, reason: end.reason, audit_id: newId('aud'), event_id: newId('evt') }));
  return sql`
    with ended as (
      update seat_queue_tickets set ended_at = ending.ended_at, end_reason = ending.reason::queue_ticket_end
        from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (id text, ended_at timestamptz, reason text, audit_id text, event_id text))
             with ordinality as ending(id, ended_at, reason, audit_id, event_id, position)
       where seat_queue_tickets.id = ending.id and seat_queue_tickets.ended_at is null
      returning seat_queue_tickets.*, ending.audit_id, ending.event_id, ending.position),
    ${auditWrites(
      actor,
      sql`select audit_id, 'seat.dequeued', 'queue_ticket', id, jsonb_build_object('licenseId', license_id, 'endReason', end_reason)
            from ended order by position`,
    )},
    ${eventWrites(actor.orgId, sql`select event_id, 'seat.dequeued', jsonb_build_object('ticket', ${queueTicketDataSql()}) from ended order by position`)}
    select 1`;
}

/**
 * Records that a client's ticket left the line (claimed or left). Not on the answer's critical
 * path: a failed write is logged, and the sweep records the end from the store later.
 */
export async function recordTicketEnded(ctx: ServiceContext, actor: Actor, ticketId: string, reason: TicketEnd): Promise<void> {
  try {
    await inTenantStatement(ctx.db, actor.orgId, ticketsEnded(actor, [{ ticketId, endedAt: new Date(ctx.clock.now()), reason }]));
  } catch (error) {
    ctx.log.warn('could not record a queue ticket leaving the line; the sweep will', { ticketId, reason, error: String(error) });
  }
}
