/**
 * Seat sessions as Postgres records them: reads for the API, recording a granted seat, and
 * ending sessions exactly once (however many callers race) with an audit row for each session
 * actually ended. The seat path's writes are single statements, each with its audit row and
 * event, so a tenant transaction of one statement carries them (`inTenantStatement`).
 */
import { and, desc, eq, inArray, isNotNull, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { rowsOf } from '../../db/client.ts';
import { seatSessions } from '../../db/schema.ts';
import type { SeatSessionRow } from '../../db/rows.ts';
import { inTenantStatement, type Transaction } from '../../db/tenant.ts';
import type { SeatCount } from '../../stores/seats/contract.ts';
import { auditWrites } from '../audit/auditLog.ts';
import { eventWrites, sessionDataSql } from '../webhooks/events.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { isId, newId } from '../../lib/ids.ts';
import { databaseWork, tenantWork } from '../database.ts';

export type EndReason = NonNullable<SeatSessionRow['endReason']>;

/** A session as the API shows it. `startedAt` is absent when the session came from the seat store alone. */
export interface SessionView {
  id: string;
  licenseId: string;
  fingerprint: string;
  startedAt?: Date;
  lastHeartbeatAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  endReason: EndReason | null;
  /** Granted past maxSeats under the license's overage strategy. */
  overage: boolean;
  /** Absent, like `startedAt`, when the session came from the seat store alone. */
  userId?: string | null;
  processId?: string | null;
  /** A borrowed seat's end: its lease needs no heartbeat until then. Absent as `userId` is. */
  borrowedUntil?: Date | null;
  /** What the app said of itself when it acquired (app version, OS). Absent as `userId` is. */
  clientInfo?: unknown;
}

export function sessionFromRow(row: SeatSessionRow): SessionView {
  return {
    id: row.id,
    licenseId: row.licenseId,
    fingerprint: row.fingerprint,
    startedAt: row.startedAt,
    lastHeartbeatAt: row.lastHeartbeatAt,
    expiresAt: row.expiresAt,
    endedAt: row.endedAt,
    endReason: row.endReason,
    overage: row.overage,
    userId: row.userId,
    processId: row.processId,
    borrowedUntil: row.borrowedUntil,
    clientInfo: row.clientInfo ?? null,
  };
}

export async function findSession(ctx: ServiceContext, licenseId: string, sessionId: string): Promise<SeatSessionRow | undefined> {
  const [row] = await databaseWork(() =>
    ctx.db
      .select()
      .from(seatSessions)
      .where(and(eq(seatSessions.id, sessionId), eq(seatSessions.licenseId, licenseId))),
  );
  return row;
}

/** A session of the organization, or undefined (also for another organization's id: RLS hides it). */
export async function getSession(ctx: ServiceContext, orgId: string, sessionId: string): Promise<SeatSessionRow | undefined> {
  if (!isId('ses', sessionId)) return undefined;
  const [row] = await tenantWork(ctx, orgId, (tx) => tx.select().from(seatSessions).where(eq(seatSessions.id, sessionId)));
  return row;
}

/** Newest first; the cursor is the last session id of the previous page. */
export async function listSessions(
  ctx: ServiceContext,
  orgId: string,
  options: { licenseId: string; active?: boolean | null; first: number; after?: string | null },
) {
  const conditions: SQL[] = [eq(seatSessions.orgId, orgId), eq(seatSessions.licenseId, options.licenseId)];
  if (options.active === true) conditions.push(isNull(seatSessions.endedAt));
  if (options.active === false) conditions.push(isNotNull(seatSessions.endedAt));
  if (options.after) {
    const cursor = await getSession(ctx, orgId, options.after);
    if (cursor) conditions.push(lt(seatSessions.startedAt, cursor.startedAt));
  }
  const rows = await tenantWork(ctx, orgId, (tx) =>
    tx
      .select()
      .from(seatSessions)
      .where(and(...conditions))
      .orderBy(desc(seatSessions.startedAt))
      .limit(options.first + 1),
  );
  return { rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
}

/** A session row as a raw statement answers it: postgres.js under drizzle leaves timestamps as text. */
type RawSessionRow = Omit<SeatSessionRow, 'startedAt' | 'lastHeartbeatAt' | 'expiresAt' | 'endedAt' | 'borrowedUntil'> &
  Record<'startedAt' | 'lastHeartbeatAt' | 'expiresAt', string | Date> &
  Record<'endedAt' | 'borrowedUntil', string | Date | null>;

const sessionRow = (raw: RawSessionRow): SeatSessionRow => ({
  ...raw,
  startedAt: new Date(raw.startedAt),
  lastHeartbeatAt: new Date(raw.lastHeartbeatAt),
  expiresAt: new Date(raw.expiresAt),
  endedAt: raw.endedAt === null ? null : new Date(raw.endedAt),
  borrowedUntil: raw.borrowedUntil === null ? null : new Date(raw.borrowedUntil),
});

/**
 * One statement that ends each given session at its own time, leaves rows already ended as they
 * are, and writes an audit row and a `seat.<reason>` event for each session it ended: the
 * session as `sessionDataSql` shows it and `seats`, the count the seat store's step that ended
 * the lease left (as `seat.acquired` carries its grant's). A borrowed seat given back is
 * `seat.returned`. It answers those sessions, in the order given.
 */
function endingStatement(actor: Actor, ends: { id: string; endedAt: Date }[], reason: EndReason, seats: SeatCount): SQL {
  const rows = ends.map((end) => ({ id: end.id, ended_at: end.endedAt, audit_id: newId('aud'), event_id: newId('evt') }));
  const kind = sql`case when end_reason = 'RELEASED' and ended_at < borrowed_until then 'seat.returned'
                        else 'seat.' || lower(end_reason::text) end`;
  return sql`
    with ended as (
      update seat_sessions set ended_at = ending.ended_at, end_reason = ${reason}
        from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (id text, ended_at timestamptz, audit_id text, event_id text))
             with ordinality as ending(id, ended_at, audit_id, event_id, position)
       where seat_sessions.id = ending.id and seat_sessions.ended_at is null
      returning seat_sessions.*, ending.audit_id, ending.event_id, ending.position),
    ${auditWrites(
      actor,
      sql`select audit_id, ${kind}, 'session', id, jsonb_build_object('licenseId', license_id) from ended order by position`,
    )},
    ${eventWrites(
      actor.orgId,
      sql`select event_id, ${kind}, jsonb_build_object('session', ${sessionDataSql()}, 'seats', ${JSON.stringify(seats)}::jsonb)
            from ended order by position`,
    )}
    select id, org_id as "orgId", license_id as "licenseId", fingerprint, client_info as "clientInfo", started_at as "startedAt",
           last_heartbeat_at as "lastHeartbeatAt", expires_at as "expiresAt", ended_at as "endedAt", end_reason as "endReason", overage,
           user_id as "userId", process_id as "processId", borrowed_until as "borrowedUntil"
      from ended order by position`;
}

/** Ends each given session at its own time; rows already ended are left as they are. `seats`: as `endingStatement` says. */
export async function endSessions(
  tx: Transaction,
  actor: Actor,
  ends: { id: string; endedAt: Date }[],
  reason: EndReason,
  seats: SeatCount,
): Promise<SeatSessionRow[]> {
  if (ends.length === 0) return [];
  return rowsOf<RawSessionRow>(await tx.execute(endingStatement(actor, ends, reason, seats))).map(sessionRow);
}

/** `endSessions` in a transaction of its own inside the actor's organization: the fewest round trips. */
export async function endSessionsInTenant(
  db: Database,
  actor: Actor,
  ends: { id: string; endedAt: Date }[],
  reason: EndReason,
  seats: SeatCount,
): Promise<SeatSessionRow[]> {
  return (await inTenantStatement<RawSessionRow>(db, actor.orgId, endingStatement(actor, ends, reason, seats))).map(sessionRow);
}

/**
 * One statement that records a seat granted by the seat store: the session, the machine when
 * the store saw its fingerprint for the first time, the audit row and the `seat.acquired` event,
 * whose session is the row just written, as `sessionDataSql` shows every session event's. A seat
 * granted past maxSeats is also announced as `seat.overage`, a borrowed one as `seat.borrowed`,
 * with the same session and count.
 */
export function sessionStarted(
  actor: Actor,
  session: SessionView & { startedAt: Date },
  grant: { clientInfo: unknown; newMachine: boolean; seats: SeatCount },
): SQL {
  const startedAt = session.startedAt.toISOString();
  const machine = grant.newMachine
    ? sql`machine as (
        insert into machines (license_id, fingerprint, org_id, created_at)
        values (${session.licenseId}, ${session.fingerprint}, ${actor.orgId}, ${startedAt}::timestamptz)
        on conflict do nothing),`
    : sql``;
  return sql`
    with started as (
      insert into seat_sessions (id, org_id, license_id, fingerprint, client_info, started_at, last_heartbeat_at, expires_at, overage,
                                 user_id, process_id, borrowed_until)
      values (${session.id}, ${actor.orgId}, ${session.licenseId}, ${session.fingerprint},
              ${grant.clientInfo == null ? null : JSON.stringify(grant.clientInfo)}::jsonb,
              ${startedAt}::timestamptz, ${startedAt}::timestamptz, ${session.expiresAt.toISOString()}::timestamptz, ${session.overage},
              ${session.userId ?? null}, ${session.processId ?? null}, ${session.borrowedUntil?.toISOString() ?? null}::timestamptz)
      returning *),
    ${machine}
    ${auditWrites(
      actor,
      sql`select ${newId('aud')}::text, 'seat.acquired', 'session', id,
                 jsonb_build_object('fingerprint', fingerprint, 'overage', overage) from started`,
    )},
    ${eventWrites(
      actor.orgId,
      sql`select event_id, event_type, jsonb_build_object('session', ${sessionDataSql()}, 'seats', ${JSON.stringify(grant.seats)}::jsonb)
            from started, (values (${newId('evt')}::text, 'seat.acquired', true), (${newId('evt')}::text, 'seat.overage', ${session.overage}),
                                  (${newId('evt')}::text, 'seat.borrowed', ${session.borrowedUntil != null}))
                 as event(event_id, event_type, emitted)
           where emitted`,
    )}
    select 1`;
}

/** One statement that records a live session turned into a borrow: its new end, an audit row and `seat.borrowed`. */
export function sessionBorrowed(actor: Actor, session: SessionView, seats: SeatCount): SQL {
  const until = session.expiresAt.toISOString();
  return sql`
    with borrowed as (
      update seat_sessions set borrowed_until = ${until}::timestamptz, expires_at = ${until}::timestamptz
       where id = ${session.id} and ended_at is null
      returning *),
    ${auditWrites(
      actor,
      sql`select ${newId('aud')}::text, 'seat.borrowed', 'session', id, jsonb_build_object('borrowedUntil', ${until}::text) from borrowed`,
    )},
    ${eventWrites(
      actor.orgId,
      sql`select ${newId('evt')}::text, 'seat.borrowed', jsonb_build_object('session', ${sessionDataSql()}, 'seats', ${JSON.stringify(seats)}::jsonb)
            from borrowed`,
    )}
    select 1`;
}

/** Revokes every open session of a license, or the given sessions; `seats` as `endingStatement` says. */
export async function endOpenSessions(
  tx: Transaction,
  actor: Actor,
  which: { licenseId: string } | { sessionIds: string[] },
  at: Date,
  seats: SeatCount,
): Promise<SeatSessionRow[]> {
  const target = 'licenseId' in which ? eq(seatSessions.licenseId, which.licenseId) : inArray(seatSessions.id, which.sessionIds);
  // Locked here, then ended by the one statement that writes every ended session's audit row and event.
  const open = await tx
    .select({ id: seatSessions.id })
    .from(seatSessions)
    .where(and(target, isNull(seatSessions.endedAt)))
    .for('update');
  return endSessions(
    tx,
    actor,
    open.map(({ id }) => ({ id, endedAt: at })),
    'REVOKED',
    seats,
  );
}
