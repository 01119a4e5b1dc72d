/**
 * Webhook delivery figures over a time range, for monitoring: how many deliveries created in
 * [from, to) stand in each status now, how many attempts they took, and how long delivery took
 * (from the event, or from the redelivery by hand, to the 2xx answer).
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { ServiceContext } from '../context.ts';
import { err, ok, type InvalidInput, type Result } from '../errors.ts';
import { checkReportRange } from '../reports.ts';
import { tenantWork } from '../database.ts';

export interface WebhookMetrics {
  from: Date;
  to: Date;
  total: number;
  pending: number;
  failed: number;
  retrying: number;
  delivered: number;
  dead: number;
  replayExpired: number;
  disabled: number;
  /** Attempts that did not get a 2xx answer, made in the range. */
  failedAttempts: number;
  /** Mean attempts of the deliveries that are done (DELIVERED or DEAD); null when none is. */
  averageAttempts: number | null;
  /** 95th percentile of the time to a 2xx answer, in ms; null when nothing was delivered. */
  p95DeliveryLatencyMs: number | null;
}

interface Row {
  total: number;
  pending: number;
  failed: number;
  retrying: number;
  delivered: number;
  dead: number;
  replay_expired: number;
  disabled: number;
  failed_attempts: number;
  average_attempts: number | string | null;
  p95_ms: number | string | null;
}

export async function webhookMetrics(
  ctx: ServiceContext,
  orgId: string,
  from: Date,
  to: Date,
): Promise<Result<WebhookMetrics, InvalidInput>> {
  const invalid = checkReportRange(from, to);
  if (invalid) return err(invalid);
  const [row] = await tenantWork(ctx, orgId, async (tx) =>
    rowsOf<Row>(
      await tx.execute(sql`
          with d as (
            select status, attempts, delivered_at - coalesce(redelivered_at, created_at) as latency
              from webhook_deliveries
             where org_id = ${orgId} and created_at >= ${from.toISOString()}::timestamptz and created_at < ${to.toISOString()}::timestamptz)
          select count(*)::int as total,
                 (count(*) filter (where status = 'PENDING'))::int as pending,
                 (count(*) filter (where status = 'FAILED'))::int as failed,
                 (count(*) filter (where status = 'RETRYING'))::int as retrying,
                 (count(*) filter (where status = 'DELIVERED'))::int as delivered,
                 (count(*) filter (where status = 'DEAD'))::int as dead,
                 (count(*) filter (where status = 'REPLAY_EXPIRED'))::int as replay_expired,
                 (count(*) filter (where status = 'DISABLED'))::int as disabled,
                 (select count(*)::int from webhook_attempts a
                   where a.org_id = ${orgId} and a.created_at >= ${from.toISOString()}::timestamptz and a.created_at < ${to.toISOString()}::timestamptz
                     and (a.status_code is null or a.status_code not between 200 and 299)) as failed_attempts,
                 avg(attempts) filter (where status in ('DELIVERED', 'DEAD'))::float8 as average_attempts,
                 (percentile_cont(0.95) within group (order by extract(epoch from latency) * 1000)
                   filter (where status = 'DELIVERED' and latency is not null))::float8 as p95_ms
            from d`),
    ),
  );
  const r = row!;
  const number = (v: number | string | null) => (v === null ? null : Number(v));
  const p95 = number(r.p95_ms);
  return ok({
    from,
    to,
    total: r.total,
    pending: r.pending,
    failed: r.failed,
    retrying: r.retrying,
    delivered: r.delivered,
    dead: r.dead,
    replayExpired: r.replay_expired,
    disabled: r.disabled,
    failedAttempts: r.failed_attempts,
    averageAttempts: number(r.average_attempts),
    p95DeliveryLatencyMs: p95 === null ? null : Math.round(p95),
  });
}
