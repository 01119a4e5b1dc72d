/**
 * Token buckets of the embedded mode: the contract of lua/lib/token_bucket.lua kept in process
 * memory, for one instance. A take is synchronous, so it is as atomic as the script, and the
 * in-process seat store takes its license tokens from the same buckets inside its own steps.
 * Buckets that have refilled are dropped, as the script lets their keys expire.
 */
import { checkTake, type BucketSpec, type RateLimiter, type TakeResult } from './contract.ts';

interface Bucket {
  tokens: number;
  updatedAtMs: number;
  fullAtMs: number;
}

/** Past this many live buckets, a take first drops the ones that are full again. */
const SWEEP_ABOVE = 10_000;

export interface TokenBuckets {
  take(bucket: string, spec: BucketSpec, cost?: number): TakeResult;
}

export function createTokenBuckets(clock: () => number = Date.now): TokenBuckets {
  const buckets = new Map<string, Bucket>();
  let sweepAbove = SWEEP_ABOVE;

  const sweep = (now: number) => {
    for (const [name, bucket] of buckets) if (bucket.fullAtMs <= now) buckets.delete(name);
    // Many live buckets: sweep again only once the map has grown as much again.
    sweepAbove = Math.max(SWEEP_ABOVE, buckets.size * 2);
  };

  return {
    take(bucket, spec, cost = 1) {
      checkTake(spec, cost);
      const now = clock();
      if (buckets.size > sweepAbove) sweep(now);
      const perMs = spec.refillPerSecond / 1000;
      const state = buckets.get(bucket);
      let tokens = state ? state.tokens + Math.max(0, now - state.updatedAtMs) * perMs : spec.capacity;
      if (tokens > spec.capacity) tokens = spec.capacity;
      const allowed = tokens >= cost;
      const retryAfterMs = allowed ? 0 : Math.ceil((cost - tokens) / perMs);
      if (allowed) tokens -= cost;
      const untilFull = Math.ceil((spec.capacity - tokens) / perMs);
      if (untilFull <= 0) buckets.delete(bucket);
      else buckets.set(bucket, { tokens, updatedAtMs: now, fullAtMs: now + untilFull });
      return { allowed, limit: spec.capacity, remaining: Math.floor(tokens), resetAtMs: Math.ceil(now + untilFull), retryAfterMs };
    },
  };
}

export function createMemoryRateLimiter(buckets: TokenBuckets = createTokenBuckets()): RateLimiter {
  return {
    async take(bucket, spec, cost) {
      return buckets.take(bucket, spec, cost);
    },
  };
}
