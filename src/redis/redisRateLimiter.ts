/** Token buckets on Redis: each take is one call of lua/rate_limit.lua, atomic across instances. */
import { runScript, type RedisConnection } from './client.ts';
import { checkTake, type RateLimiter } from './rateLimiter.ts';

/** One key per bucket, hash-tagged so the single-key script is Cluster-safe whatever the name. */
export const rateLimitKey = (bucket: string) => `lh:rl:{${bucket}}`;

export function createRedisRateLimiter(redis: RedisConnection): RateLimiter {
  return {
    async take(bucket, spec, cost = 1) {
      checkTake(spec, cost);
      const [allowed, remaining, resetAtMs, retryAfterMs] = await runScript(
        redis,
        'rate_limit',
        [rateLimitKey(bucket)],
        [spec.capacity, spec.refillPerSecond, cost],
      );
      return {
        allowed: Number(allowed) === 1,
        limit: spec.capacity,
        remaining: Number(remaining),
        resetAtMs: Number(resetAtMs),
        retryAfterMs: Number(retryAfterMs),
      };
    },
  };
}
