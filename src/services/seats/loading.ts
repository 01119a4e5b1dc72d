/**
 * Putting a license into the seat store: on its first use, or after Redis lost it. Postgres is
 * the record: the license's terms, its open sessions, the seats still lingering after a release,
 * and its activated machines.
 */
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { licenses, machines, seatSessions } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { databaseWork } from '../database.ts';
import { guarded } from '../errors.ts';
import { licenseTerms } from '../licenses/licenses.ts';

/** Puts a license and its open sessions into the seat store (first use, or after Redis lost them). */
export async function loadLicenseSeats(ctx: ServiceContext, licenseId: string): Promise<void> {
  const { license, sessions, lingering, activated } = await databaseWork(async () => {
    const [license] = await ctx.db.select().from(licenses).where(eq(licenses.id, licenseId));
    const sessions = await ctx.db
      .select({
        sessionId: seatSessions.id,
        fingerprint: seatSessions.fingerprint,
        expiresAt: seatSessions.expiresAt,
        overage: seatSessions.overage,
        userId: seatSessions.userId,
        processId: seatSessions.processId,
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
    const activated = await ctx.db.select({ fingerprint: machines.fingerprint }).from(machines).where(eq(machines.licenseId, licenseId));
    return { license, sessions, lingering, activated };
  });
  if (!license) throw new Error(`license ${licenseId} vanished while loading`);
  await guarded('The seat store', () =>
    ctx.seats.load(
      licenseId,
      licenseTerms(license),
      sessions.map(({ expiresAt, ...s }) => ({ ...s, expiresAtMs: expiresAt.getTime() })),
      activated.map((m) => m.fingerprint),
      lingering.map(({ endedAt, ...s }) => ({ ...s, untilMs: endedAt!.getTime() + license.lingerSeconds * 1000 })),
    ),
  );
}
