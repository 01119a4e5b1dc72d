/** Reading API-key usage: by key (with its days) and by tier, over a range of UTC days. */
import { and, eq, gte, lte } from 'drizzle-orm';
import type { ApiKeyRow } from '../../db/rows.ts';
import { apiKeys, apiKeyUsage as apiKeyUsageTable } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { err, ok, type InvalidInput, type Result } from '../errors.ts';
import { checkReportRange } from '../reports.ts';
import { tenantWork } from '../database.ts';
import { utcDay } from './recording.ts';

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
export async function apiKeyUsage(ctx: ServiceContext, orgId: string, from: Date, to: Date): Promise<Result<UsageReport, InvalidInput>> {
  const invalid = checkReportRange(from, to);
  if (invalid) return err(invalid);
  const firstDay = utcDay(from);
  const lastDay = utcDay(new Date(to.getTime() - 1));

  const rows = await tenantWork(ctx, orgId, (tx) =>
    tx
      .select({ usage: apiKeyUsageTable, apiKey: apiKeys })
      .from(apiKeyUsageTable)
      .innerJoin(apiKeys, eq(apiKeys.id, apiKeyUsageTable.apiKeyId))
      .where(and(eq(apiKeyUsageTable.orgId, orgId), gte(apiKeyUsageTable.day, firstDay), lte(apiKeyUsageTable.day, lastDay)))
      .orderBy(apiKeyUsageTable.apiKeyId, apiKeyUsageTable.day),
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

  return ok({ from, to, firstDay, lastDay, keys, tiers });
}
