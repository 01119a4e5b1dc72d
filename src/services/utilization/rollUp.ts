/**
 * The roll-up of utilization history, a background job: minutes into hours, hours into days,
 * and each kind of point dropped past its retention (minutes after 7 days, hours after 90, days
 * after 2 years; a point not yet rolled up is kept until it is). An hour is recomputed whole
 * from its minutes, so it keeps their greatest peak and their sums, however often it is redone.
 *
 * Points written since the last roll-up are marked (`rolled_up` false). The job locks and
 * clears the marks first, then recomputes in a later statement, whose snapshot sees every
 * write to those points: a flush that changes one meanwhile waits for the lock and marks it
 * again, so the next roll-up takes its change. One instance rolls up at a time (an advisory
 * lock; the others skip the round). Like the sweeper, it runs across organizations on the
 * connecting user; times are the services' clock, so tests move them.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { Transaction } from '../../db/tenant.ts';
import type { ServiceContext } from '../context.ts';
import { DAY_MS } from '../../lib/clock.ts';


export type Granularity = 'MINUTE' | 'HOUR' | 'DAY';

/** How long each kind of point is kept, in days. */
export const RETENTION_DAYS: Record<Granularity, number> = { MINUTE: 7, HOUR: 90, DAY: 730 };

const COARSER = { MINUTE: { into: 'HOUR', unit: 'hour' }, HOUR: { into: 'DAY', unit: 'day' } } as const;

/** Rolls the marked points of `finer` into the coarser kind; answers how many coarser points it wrote. */
async function rollUp(tx: Transaction, finer: 'MINUTE' | 'HOUR'): Promise<number> {
  const { into, unit } = COARSER[finer];
  const buckets = rowsOf<{ license_id: string; bucket: string | Date }>(
    await tx.execute(sql`
      with locked as (
        select license_id, at from seat_utilization
         where granularity = ${finer} and not rolled_up
         order by license_id, at
           for update),
      cleared as (
        update seat_utilization p set rolled_up = true
          from locked
         where p.license_id = locked.license_id and p.granularity = ${finer} and p.at = locked.at
        returning p.license_id, date_trunc(${unit}, p.at, 'UTC') as bucket)
      select distinct license_id, bucket from cleared`),
  );
  if (buckets.length === 0) return 0;
  const rows = buckets.map((b) => ({ license_id: b.license_id, bucket: new Date(b.bucket).toISOString() }));
  const written = await tx.execute(sql`
    insert into seat_utilization (org_id, license_id, granularity, at, peak_used, max_seats, grants, denials, queued, rolled_up)
    select p.org_id, p.license_id, ${into}::utilization_granularity, b.bucket, max(p.peak_used), max(p.max_seats),
           sum(p.grants)::int, sum(p.denials)::int, sum(p.queued)::int, ${into === 'DAY'}::boolean
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as b(license_id text, bucket timestamptz)
      join seat_utilization p on p.license_id = b.license_id and p.granularity = ${finer}
           and p.at >= b.bucket and p.at < b.bucket + ${`1 ${unit}`}::interval
     group by p.org_id, p.license_id, b.bucket
     order by p.license_id, b.bucket
    on conflict (license_id, granularity, at) do update set
      peak_used = excluded.peak_used,
      max_seats = excluded.max_seats,
      grants = excluded.grants,
      denials = excluded.denials,
      queued = excluded.queued,
      rolled_up = excluded.rolled_up
    returning 1`);
  return rowsOf(written).length;
}

export interface RollUpResult {
  hours: number;
  days: number;
  /** Points dropped past their retention. */
  dropped: number;
}

/** One roll-up round; undefined, having done nothing, when another instance is in one. */
export async function rollUpUtilization(ctx: ServiceContext): Promise<RollUpResult | undefined> {
  const now = ctx.clock.now();
  const before = (granularity: Granularity) => new Date(now - RETENTION_DAYS[granularity] * DAY_MS).toISOString();
  return ctx.db.transaction(async (tx) => {
    const [lock] = rowsOf<{ locked: boolean }>(
      await tx.execute(sql`select pg_try_advisory_xact_lock(hashtextextended('seat_utilization.roll_up', 0)) as locked`),
    );
    if (!lock?.locked) return undefined;
    const hours = await rollUp(tx, 'MINUTE');
    const days = await rollUp(tx, 'HOUR');
    const dropped = await tx.execute(sql`
      delete from seat_utilization
       where (granularity = 'MINUTE' and rolled_up and at < ${before('MINUTE')}::timestamptz)
          or (granularity = 'HOUR' and rolled_up and at < ${before('HOUR')}::timestamptz)
          or (granularity = 'DAY' and at < ${before('DAY')}::timestamptz)
      returning 1`);
    return { hours, days, dropped: rowsOf(dropped).length };
  });
}
