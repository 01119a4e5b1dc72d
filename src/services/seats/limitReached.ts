/** The `seat.limit-reached` event: announced when an acquire is refused for want of a seat, once per quiet period. */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { SeatCount } from '../../stores/seats/contract.ts';
import type { ServiceContext } from '../context.ts';
import { describeError } from '../../lib/logger.ts';
import { emitEvent } from '../webhooks/events.ts';
import { tenantWork } from '../database.ts';

/** A full license refuses every retrying client; one announcement per license this often is enough. */
const LIMIT_REACHED_QUIET_MS = 60_000;

/**
 * Per instance (per service context), the licenses announced or checked lately, and until when
 * to stay quiet about them: a full license costs Postgres one check per quiet period here, not
 * one per refused client.
 */
const quietUntil = new WeakMap<ServiceContext, Map<string, number>>();

/**
 * Announces that an acquire was refused because every seat is taken. The refusal is decided in
 * the seat store and changes nothing in Postgres, so there is no transaction of the change to
 * join: the event gets a small one of its own, serialized per license by an advisory lock so
 * instances refusing at once announce once per quiet period. A failure here is logged and never
 * turns the client's NO_SEATS_AVAILABLE answer into an error.
 */
export async function announceSeatLimitReached(
  ctx: ServiceContext,
  refusal: { orgId: string; licenseId: string; fingerprint: string; seats: SeatCount },
): Promise<void> {
  let quiet = quietUntil.get(ctx);
  if (!quiet) quietUntil.set(ctx, (quiet = new Map()));
  const now = ctx.clock.now();
  if ((quiet.get(refusal.licenseId) ?? 0) > now) return;
  if (quiet.size >= 10_000) for (const [licenseId, until] of quiet) if (until <= now) quiet.delete(licenseId);
  // Set before the check, so refusals arriving while it runs do not start their own.
  quiet.set(refusal.licenseId, now + LIMIT_REACHED_QUIET_MS);
  try {
    await tenantWork(ctx, refusal.orgId, async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`seat.limit-reached:${refusal.licenseId}`}, 0))`);
      const announced = rowsOf(
        await tx.execute(sql`
          select 1 from webhook_events
           where org_id = ${refusal.orgId} and type = 'seat.limit-reached' and data->>'licenseId' = ${refusal.licenseId}
             and created_at > now() - make_interval(secs => ${LIMIT_REACHED_QUIET_MS / 1000})
           limit 1`),
      );
      if (announced.length > 0) return;
      await emitEvent(tx, refusal.orgId, 'seat.limit-reached', {
        licenseId: refusal.licenseId,
        fingerprint: refusal.fingerprint,
        seats: { used: refusal.seats.used, max: refusal.seats.max, changedAt: refusal.seats.changedAt.toISOString() },
      });
    });
  } catch (error) {
    quiet.delete(refusal.licenseId);
    ctx.log.warn('could not record seat.limit-reached', { licenseId: refusal.licenseId, error: describeError(error) });
  }
}
