/**
 * Seat sessions as Postgres records them: reads for the API, and ending sessions exactly once
 * (however many callers race) with an audit row for each session actually ended.
 */
import { and, desc, eq, inArray, isNotNull, isNull, lt, type SQL } from 'drizzle-orm';
import { seatSessions, type SeatSessionRow } from '../db/schema.ts';
import { inTenant, type Transaction } from '../db/tenant.ts';
import { appendAudit } from './audit.ts';
import { emitEvents, sessionEnded } from './events.ts';
import type { Actor, ServiceContext } from './context.ts';
import { guarded } from './errors.ts';
import { isId } from './ids.ts';

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
  };
}

export async function findSession(ctx: ServiceContext, licenseId: string, sessionId: string): Promise<SeatSessionRow | undefined> {
  const [row] = await guarded('The database', () =>
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
  const [row] = await guarded('The database', () =>
    inTenant(ctx.db, orgId, (tx) => tx.select().from(seatSessions).where(eq(seatSessions.id, sessionId))),
  );
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
  const rows = await guarded('The database', () =>
    inTenant(ctx.db, orgId, (tx) =>
      tx
        .select()
        .from(seatSessions)
        .where(and(...conditions))
        .orderBy(desc(seatSessions.startedAt))
        .limit(options.first + 1),
    ),
  );
  return { rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
}

/**
 * The ended sessions' events and audit rows, sent together in one round trip (both calls send
 * their statement at once, in this order). The audit insert goes last: it takes the
 * organization's chain lock (drizzle/0002) and holds it until commit.
 */
async function eventsThenAudit(tx: Transaction, actor: Actor, ended: SeatSessionRow[]): Promise<void> {
  await Promise.all([emitEvents(tx, actor.orgId, ended.map(sessionEnded)), auditEnded(tx, actor, ended)]);
}

function auditEnded(tx: Transaction, actor: Actor, ended: SeatSessionRow[]) {
  return appendAudit(
    tx,
    actor,
    ended.map((row) => ({
      action: `seat.${row.endReason!.toLowerCase()}`,
      resourceType: 'session',
      resourceId: row.id,
      data: { licenseId: row.licenseId },
      at: row.endedAt!,
    })),
  );
}

/** Ends each given session at its own time; rows already ended are left as they are. */
export async function endSessions(
  tx: Transaction,
  actor: Actor,
  ends: { id: string; endedAt: Date }[],
  reason: EndReason,
): Promise<SeatSessionRow[]> {
  const ended: SeatSessionRow[] = [];
  for (const end of ends) {
    const [row] = await tx
      .update(seatSessions)
      .set({ endedAt: end.endedAt, endReason: reason })
      .where(and(eq(seatSessions.id, end.id), isNull(seatSessions.endedAt)))
      .returning();
    if (row) ended.push(row);
  }
  await eventsThenAudit(tx, actor, ended);
  return ended;
}

/** Revokes every open session of a license, or the given sessions, in one statement. */
export async function endOpenSessions(
  tx: Transaction,
  actor: Actor,
  which: { licenseId: string } | { sessionIds: string[] },
  at: Date,
): Promise<SeatSessionRow[]> {
  const target = 'licenseId' in which ? eq(seatSessions.licenseId, which.licenseId) : inArray(seatSessions.id, which.sessionIds);
  const ended = await tx
    .update(seatSessions)
    .set({ endedAt: at, endReason: 'REVOKED' })
    .where(and(target, isNull(seatSessions.endedAt)))
    .returning();
  await eventsThenAudit(tx, actor, ended);
  return ended;
}
