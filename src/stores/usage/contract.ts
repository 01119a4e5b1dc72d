/**
 * Usage counters of API keys per UTC day, shared by every instance: requests, errors,
 * rate-limit refusals, distinct client addresses and a latency histogram. Instances add what
 * they saw; any instance takes the totals of what changed and writes them to Postgres. Totals,
 * not increments, travel to Postgres, so writing the same totals twice is harmless.
 * Two implementations: Redis (HyperLogLog for addresses) and in-process (embedded mode).
 */

/** What one instance saw of one key on one day since its last push. */
export interface UsageDelta {
  orgId: string;
  apiKeyId: string;
  tier: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  requests: number;
  errors: number;
  rateLimited: number;
  clientIps: Set<string>;
  /** latency bucket → requests (see services/usage/latency.ts for the buckets) */
  latency: Map<number, number>;
}

/** Everything every instance saw of one key on one day. */
export interface UsageTotals {
  orgId: string;
  apiKeyId: string;
  tier: string;
  day: string;
  requests: number;
  errors: number;
  rateLimited: number;
  uniqueClientIps: number;
  latency: Map<number, number>;
}

export interface UsageEntry {
  apiKeyId: string;
  day: string;
}

export interface UsageStore {
  readonly kind: 'redis' | 'memory';
  add(deltas: UsageDelta[]): Promise<void>;
  /** Totals of up to `max` entries that changed since they were last taken; taking them marks them unchanged. */
  takeChanged(max: number): Promise<UsageTotals[]>;
  /** Marks entries changed again (their totals could not be written). */
  markChanged(entries: UsageEntry[]): Promise<void>;
}

/** Counters live this long after their day's last change, so Postgres can catch up after an outage. */
export const USAGE_RETENTION_SECONDS = 8 * 86_400;
