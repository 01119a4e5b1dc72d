/**
 * API-key usage per UTC day: requests, errors, rate-limit refusals, distinct client addresses
 * and latency p50/p95. The rate-limit plugin records each request here (in memory, no I/O);
 * `flush` pushes the sums to the shared usage store (Redis, or in-process when embedded) and
 * writes the day totals of every key that changed to `api_key_usage` in one statement.
 *
 * Latency is kept as a histogram, not a sample: bucket i holds requests that took up to
 * 1.05^i ms. Histograms from many instances add up exactly (HINCRBY), their size is bounded
 * (~230 buckets up to 1 min, far fewer in practice), and a percentile read from them is the
 * upper bound of its bucket: at most 5 % above the true value. A sample would need a script to
 * merge fairly across instances and would still only estimate.
 */
import { and, eq, gte, lte, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { apiKeys, apiKeyUsage as apiKeyUsageTable } from '../../db/schema.ts';
import { inTenant } from '../../db/tenant.ts';
import type { UsageDelta, UsageStore, UsageTotals } from '../../stores/usage/contract.ts';
import type { ApiKeyRow } from '../../db/rows.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import type { ServiceContext } from '../context.ts';
import { guarded, RequestError } from '../errors.ts';

// ── Latency histogram ───────────────────────────────────────────────────────────────────────

const GROWTH = 1.05;
const MAX_BUCKET = 400;

export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(MAX_BUCKET, Math.ceil(Math.log(ms) / Math.log(GROWTH)));
}

/** The upper bound of the bucket holding the q-quantile, in whole ms; null without data. */
export function latencyQuantile(histogram: Map<number, number>, q: number): number | null {
  let total = 0;
  for (const count of histogram.values()) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket)!;
    if (seen >= rank) return Math.max(1, Math.round(GROWTH ** bucket));
  }
  return null;
}

// ── Recording ───────────────────────────────────────────────────────────────────────────────

export interface UsageEvent {
  orgId: string;
  apiKeyId: string;
  tier: string;
  clientIp: string;
  latencyMs: number;
  /** The response carried errors or a non-2xx status. */
  error: boolean;
  rateLimited: boolean;
  at?: Date;
}

export interface UsageRecorder {
  record(event: UsageEvent): void;
  /** Pushes what was recorded to the usage store, then writes changed day totals to Postgres. */
  flush(): Promise<void>;
}

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

const FLUSH_BATCH = 500;

export function createUsageRecorder(store: UsageStore, db: Database): UsageRecorder {
  const pending = createBatchBuffer<string, UsageDelta>({
    merge: (older, newer) => {
      for (const ip of newer.clientIps) older.clientIps.add(ip);
      for (const [bucket, count] of newer.latency) older.latency.set(bucket, (older.latency.get(bucket) ?? 0) + count);
      return {
        ...newer,
        requests: older.requests + newer.requests,
        errors: older.errors + newer.errors,
        rateLimited: older.rateLimited + newer.rateLimited,
        clientIps: older.clientIps,
        latency: older.latency,
      };
    },
    // A push that fails part-way may count some requests twice; counters err on the high side.
    write: (batch) => store.add([...batch.values()]),
  });

  return {
    record(e) {
      const day = utcDay(e.at ?? new Date());
      pending.record(`${e.apiKeyId}|${day}`, {
        orgId: e.orgId,
        apiKeyId: e.apiKeyId,
        tier: e.tier,
        day,
        requests: 1,
        errors: e.error ? 1 : 0,
        rateLimited: e.rateLimited ? 1 : 0,
        clientIps: new Set([e.clientIp]),
        latency: new Map([[latencyBucket(e.latencyMs), 1]]),
      });
    },
    async flush() {
      await pending.flush();
      for (;;) {
        const totals = await store.takeChanged(FLUSH_BATCH);
        if (totals.length === 0) return;
        try {
          await writeUsageTotals(db, totals);
        } catch (error) {
          await store.markChanged(totals);
          throw error;
        }
        if (totals.length < FLUSH_BATCH) return;
      }
    },
  };
}

/**
 * Upserts day totals of keys of any organization in one statement: a system write on the
 * connecting user, as the sweeper's, not tenant work. Counters only grow (greatest), so totals
 * restarted by a Redis that lost its data never overwrite larger ones already written.
 */
async function writeUsageTotals(db: Database, totals: UsageTotals[]): Promise<void> {
  const rows = totals.map((t) => ({
    org_id: t.orgId,
    api_key_id: t.apiKeyId,
    day: t.day,
    tier: t.tier,
    requests: t.requests,
    errors: t.errors,
    rate_limited: t.rateLimited,
    unique_ips: t.uniqueClientIps,
    p50_ms: latencyQuantile(t.latency, 0.5),
    p95_ms: latencyQuantile(t.latency, 0.95),
  }));
  // Keys deleted meanwhile (their organization removed) are skipped by the join.
  await db.execute(sql`
    insert into api_key_usage (org_id, api_key_id, day, tier, requests, errors, rate_limited, unique_ips, p50_ms, p95_ms)
    select v.org_id, v.api_key_id, v.day, v.tier, v.requests, v.errors, v.rate_limited, v.unique_ips, v.p50_ms, v.p95_ms
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
           as v(org_id text, api_key_id text, day text, tier text, requests int, errors int, rate_limited int,
                unique_ips int, p50_ms int, p95_ms int)
      join api_keys k on k.id = v.api_key_id
    on conflict (api_key_id, day) do update set
      tier = excluded.tier,
      requests = greatest(api_key_usage.requests, excluded.requests),
      errors = greatest(api_key_usage.errors, excluded.errors),
      rate_limited = greatest(api_key_usage.rate_limited, excluded.rate_limited),
      unique_ips = greatest(api_key_usage.unique_ips, excluded.unique_ips),
      p50_ms = excluded.p50_ms,
      p95_ms = excluded.p95_ms`);
}

// ── Reading ─────────────────────────────────────────────────────────────────────────────────

export interface UsageFigures {
  requests: number;
  errors: number;
  rateLimited: number;
  /** Distinct client addresses; see the aggregation notes on `apiKeyUsage`. */
  uniqueConsumers: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface DayUsage extends UsageFigures {
  day: string;
  tier: string;
}

export interface KeyUsage extends UsageFigures {
  apiKey: ApiKeyRow;
  days: DayUsage[];
}

export interface TierUsage extends UsageFigures {
  tier: string;
  /** Keys of this tier with at least one request in the range. */
  activeKeys: number;
}

export interface UsageReport {
  from: Date;
  to: Date;
  /** The UTC days the report covers: every day that overlaps [from, to). */
  firstDay: string;
  lastDay: string;
  keys: KeyUsage[];
  tiers: TierUsage[];
}

const MAX_RANGE_DAYS = 366;

/** Request-weighted mean of per-day percentiles: the daily values are exact to 5 %, their mix is an estimate. */
function weightedPercentile(parts: UsageFigures[], pick: (f: UsageFigures) => number | null): number | null {
  let weight = 0;
  let sum = 0;
  for (const part of parts) {
    const value = pick(part);
    if (value === null || part.requests === 0) continue;
    weight += part.requests;
    sum += value * part.requests;
  }
  return weight === 0 ? null : Math.round(sum / weight);
}

function combine(parts: UsageFigures[], uniqueConsumers: number): UsageFigures {
  return {
    requests: parts.reduce((n, p) => n + p.requests, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    rateLimited: parts.reduce((n, p) => n + p.rateLimited, 0),
    uniqueConsumers,
    p50Ms: weightedPercentile(parts, (p) => p.p50Ms),
    p95Ms: weightedPercentile(parts, (p) => p.p95Ms),
  };
}

/**
 * Usage of the organization's keys over every UTC day that overlaps [from, to), by key (with
 * its days) and by tier. Counts are sums and exact. Distinct addresses are exact per key and
 * day (to HyperLogLog's ~1 %); over several days a key reports its busiest day's count (a lower
 * bound: days cannot be merged once written), and a tier adds up its keys' counts (an address
 * that used two keys counts twice). Latency percentiles over several days or keys are the
 * request-weighted mean of the daily ones. Today's figures trail live traffic by one flush.
 */
export async function apiKeyUsage(ctx: ServiceContext, orgId: string, from: Date, to: Date): Promise<UsageReport> {
  if (!(from.getTime() < to.getTime())) throw new RequestError('BAD_USER_INPUT', 'from must be before to', { field: 'from' });
  const firstDay = utcDay(from);
  const lastDay = utcDay(new Date(to.getTime() - 1));
  const days = (Date.parse(lastDay) - Date.parse(firstDay)) / 86_400_000 + 1;
  if (days > MAX_RANGE_DAYS)
    throw new RequestError('BAD_USER_INPUT', `the range may cover at most ${MAX_RANGE_DAYS} days`, { field: 'to' });

  const rows = await guarded('The database', () =>
    inTenant(ctx.db, orgId, (tx) =>
      tx
        .select({ usage: apiKeyUsageTable, apiKey: apiKeys })
        .from(apiKeyUsageTable)
        .innerJoin(apiKeys, eq(apiKeys.id, apiKeyUsageTable.apiKeyId))
        .where(and(eq(apiKeyUsageTable.orgId, orgId), gte(apiKeyUsageTable.day, firstDay), lte(apiKeyUsageTable.day, lastDay)))
        .orderBy(apiKeyUsageTable.apiKeyId, apiKeyUsageTable.day),
    ),
  );

  const byKey = new Map<string, { apiKey: ApiKeyRow; days: DayUsage[] }>();
  for (const { usage, apiKey } of rows) {
    const entry = byKey.get(apiKey.id) ?? { apiKey, days: [] as DayUsage[] };
    entry.days.push({
      day: usage.day,
      tier: usage.tier,
      requests: usage.requests,
      errors: usage.errors,
      rateLimited: usage.rateLimited,
      uniqueConsumers: usage.uniqueIps,
      p50Ms: usage.p50Ms,
      p95Ms: usage.p95Ms,
    });
    byKey.set(apiKey.id, entry);
  }
  const keys: KeyUsage[] = [...byKey.values()].map(({ apiKey, days }) => ({
    apiKey,
    days,
    ...combine(days, Math.max(0, ...days.map((d) => d.uniqueConsumers))),
  }));
  keys.sort((a, b) => b.requests - a.requests || a.apiKey.id.localeCompare(b.apiKey.id));

  type TierEntry = { days: DayUsage[]; consumersByKey: Map<string, number> };
  const byTier = new Map<string, TierEntry>();
  for (const key of keys) {
    for (const day of key.days) {
      const entry: TierEntry = byTier.get(day.tier) ?? { days: [], consumersByKey: new Map() };
      entry.days.push(day);
      entry.consumersByKey.set(key.apiKey.id, Math.max(entry.consumersByKey.get(key.apiKey.id) ?? 0, day.uniqueConsumers));
      byTier.set(day.tier, entry);
    }
  }
  const tiers: TierUsage[] = [...byTier].map(([tier, { days, consumersByKey }]) => ({
    tier,
    activeKeys: consumersByKey.size,
    ...combine(
      days,
      [...consumersByKey.values()].reduce((n, c) => n + c, 0),
    ),
  }));
  tiers.sort((a, b) => a.tier.localeCompare(b.tier));

  return { from, to, firstDay, lastDay, keys, tiers };
}
