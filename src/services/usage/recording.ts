/**
 * Recording API-key usage per UTC day: requests, errors, rate-limit refusals, distinct client
 * addresses and latency (latency.ts). The rate-limit plugin records each request here (in
 * memory, no I/O); `flush` pushes the sums to the shared usage store (Redis, or in-process when
 * embedded) and writes the day totals of every key that changed to `api_key_usage` in one
 * statement.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import type { Clock } from '../../lib/clock.ts';
import type { UsageDelta, UsageStore, UsageTotals } from '../../stores/usage/contract.ts';
import type { UsageRecorder } from '../context.ts';
import { latencyBucket, latencyQuantile } from './latency.ts';

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

const FLUSH_BATCH = 500;

export function createUsageRecorder(store: UsageStore, db: Database, clock: Clock): UsageRecorder {
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
      const day = utcDay(e.at ?? new Date(clock.now()));
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
