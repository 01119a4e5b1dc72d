/**
 * Putting a license into the seat store: on its first use, or after Redis lost it. Postgres is
 * the record: the license's terms, its open sessions, the seats still lingering after a release,
 * the open tickets of its seat queue, and its activated machines.
 */
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import { licenses, machines, seatQueueTickets, seatSessions } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { databaseWork } from '../database.ts';
import { guarded } from '../errors.ts';
import { licenseTerms } from '../licenses/licenses.ts';

/** The loads under way in each app, by license: callers that find a license unloaded at once share one load. */
const loading = new WeakMap<ServiceContext, Map<string, Promise<void>>>();

/**
 * Puts a license and its open sessions into the seat store (first use, or after Redis lost
 * them). Every seat call that finds the license missing while it loads waits for the same load
 * rather than reading Postgres again: a large license is rebuilt once per instance.
 */
export function loadLicenseSeats(ctx: ServiceContext, licenseId: string): Promise<void> {
  let inFlight = loading.get(ctx);
  if (!inFlight) loading.set(ctx, (inFlight = new Map()));
  const running = inFlight.get(licenseId);
  if (running) return running;
  const load = loadFromPostgres(ctx, licenseId).finally(() => inFlight.delete(licenseId));
  inFlight.set(licenseId, load);
  return load;
}

async function loadFromPostgres(ctx: ServiceContext, licenseId: string): Promise<void> {
  const { license, sessions, lingering, tickets, activated } = await databaseWork(async () => {
    const [license] = await ctx.db.select().from(licenses).where(eq(licenses.id, licenseId));
    const sessions = await ctx.db
      .select({
        sessionId: seatSessions.id,
        fingerprint: seatSessions.fingerprint,
        expiresAt: seatSessions.expiresAt,
        overage: seatSessions.overage,
        userId: seatSessions.userId,
        processId: seatSessions.processId,
        borrowedUntil: seatSessions.borrowedUntil,
      })
      .from(seatSessions)
      .where(and(eq(seatSessions.licenseId, licenseId), isNull(seatSessions.endedAt)));
    const lingerSeconds = license?.lingerSeconds ?? 0;
    const lingering =
      lingerSeconds > 0
        ? await ctx.db
            .select({
              sessionId: seatSessions.id,
              fingerprint: seatSessions.fingerprint,
              userId: seatSessions.userId,
              processId: seatSessions.processId,
              endedAt: seatSessions.endedAt,
            })
            .from(seatSessions)
            .where(
              and(
                eq(seatSessions.licenseId, licenseId),
                eq(seatSessions.endReason, 'RELEASED'),
                gt(seatSessions.endedAt, sql`now() - make_interval(secs => ${lingerSeconds})`),
              ),
            )
        : [];
    const tickets = license?.queueEnabled
      ? await ctx.db
          .select({
            ticketId: seatQueueTickets.id,
            fingerprint: seatQueueTickets.fingerprint,
            userId: seatQueueTickets.userId,
            processId: seatQueueTickets.processId,
          })
          .from(seatQueueTickets)
          .where(and(eq(seatQueueTickets.licenseId, licenseId), isNull(seatQueueTickets.endedAt)))
          .orderBy(asc(seatQueueTickets.queuedAt), asc(seatQueueTickets.id))
      : [];
    const activated = await ctx.db.select({ fingerprint: machines.fingerprint }).from(machines).where(eq(machines.licenseId, licenseId));
    return { license, sessions, lingering, tickets, activated };
  });
  if (!license) throw new Error(`license ${licenseId} vanished while loading`);
  await guarded('The seat store', () =>
    ctx.seats.load(
      licenseId,
      licenseTerms(license),
      // A borrowed lease expires when its borrow ends; one revived past it is leased again.
      sessions.map(({ expiresAt, borrowedUntil, ...s }) => ({
        ...s,
        expiresAtMs: expiresAt.getTime(),
        borrowed: borrowedUntil !== null && borrowedUntil.getTime() >= expiresAt.getTime(),
      })),
      activated.map((m) => m.fingerprint),
      lingering.map(({ endedAt, ...s }) => ({ ...s, untilMs: endedAt!.getTime() + license.lingerSeconds * 1000 })),
      tickets,
    ),
  );
}
