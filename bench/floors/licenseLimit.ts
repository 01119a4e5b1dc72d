/**
 * The bench license's rate limit. One license carries the whole load, so the limit never
 * refuses; it is still taken on every heartbeat, by the app and by both floors alike, so that
 * the Redis work per request is the same in every lane.
 */
import type { RateLimit } from '../../src/config/rateLimitPolicy.ts';
import { bucketSpec } from '../../src/services/rateLimits.ts';

export const BENCH_LICENSE_LIMIT: RateLimit = { requests: 100_000_000, perSeconds: 60 };
export const BENCH_LICENSE_BUCKET = bucketSpec(BENCH_LICENSE_LIMIT);
