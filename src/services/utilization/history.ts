/**
 * Reading seat utilization history (`seatUtilization`): a license's points, or the whole
 * organization's, at one granularity over a range. Points exist only for buckets with seat
 * activity; hours and days appear once the roll-up (rollUp.ts) has taken their minutes.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { ServiceContext } from '../context.ts';
import { tenantWork } from '../database.ts';
import { err, InvalidInput, ok, type Result } from '../errors.ts';
import { getLicense } from '../licenses/licenses.ts';
import { RETENTION_DAYS, type Granularity } from './rollUp.ts';

export interface UtilizationPoint {
  /** The bucket's start (UTC). */
  at: Date;
  peakUsed: number;
  max: number;
  grants: number;
  denials: number;
  queued: number;
}

export interface UtilizationQuery {
  /** null: every license of the organization, summed per bucket. */
  licenseId: string | null;
  from: Date;
  to: Date;
  granularity: Granularity;
}

/** A range is at most as long as its granularity's points are kept: a longer one could only be partly answered. */
function checkRange(query: UtilizationQuery): InvalidInput | undefined {
  if (!(query.from.getTime() < query.to.getTime())) return new InvalidInput('from must be before to', 'from');
  const days = RETENTION_DAYS[query.granularity];
  if (query.to.getTime() - query.from.getTime() > days * 86_400_000) {
    return new InvalidInput(`a range of ${query.granularity} points may cover at most ${days} days`, 'to');
  }
  return undefined;
}

interface PointRow {
  at: string | Date;
  peak_used: number;
  max_seats: number;
  grants: number;
  denials: number;
  queued: number;
}

/**
 * The points whose buckets start in [from, to), oldest first. For the whole organization each
 * figure is the sum over its licenses in the bucket: the peak so is the sum of the licenses'
 * peaks, which bounds the organization's simultaneous peak from above.
 */
export async function seatUtilization(
  ctx: ServiceContext,
  orgId: string,
  query: UtilizationQuery,
): Promise<Result<UtilizationPoint[], InvalidInput>> {
  const invalid = checkRange(query);
  if (invalid) return err(invalid);
  if (query.licenseId !== null && !(await getLicense(ctx, orgId, query.licenseId))) {
    return err(new InvalidInput('No license with this id.', 'licenseId'));
  }
  const range = sql`granularity = ${query.granularity} and at >= ${query.from.toISOString()}::timestamptz and at < ${query.to.toISOString()}::timestamptz`;
  const rows = await tenantWork(ctx, orgId, async (tx) =>
    rowsOf<PointRow>(
      await tx.execute(
        query.licenseId !== null
          ? sql`select at, peak_used, max_seats, grants, denials, queued from seat_utilization
                 where license_id = ${query.licenseId} and ${range} order by at`
          : sql`select at, sum(peak_used)::int as peak_used, sum(max_seats)::int as max_seats, sum(grants)::int as grants,
                       sum(denials)::int as denials, sum(queued)::int as queued
                  from seat_utilization where org_id = ${orgId} and ${range} group by at order by at`,
      ),
    ),
  );
  return ok(
    rows.map((r) => ({
      at: new Date(r.at),
      peakUsed: r.peak_used,
      max: r.max_seats,
      grants: r.grants,
      denials: r.denials,
      queued: r.queued,
    })),
  );
}
