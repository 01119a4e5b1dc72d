/** Token buckets on Redis: each take is one call of lua/rate_limit.lua, atomic across instances. */
import { runScript, type RedisConnection } from '../redisConnection.ts';
import { checkTake, licenseBucket, type RateLimiter, type TakeResult } from './contract.ts';

/** A license's bucket lives in its seat keys' slot, where the seat scripts take from it too. */
export const licenseRateKey = (licenseId: string) => `lh:{${licenseId}}:rate`;

/** One key per bucket, hash-tagged so the single-key script is Cluster-safe whatever the name. */
export function rateLimitKey(bucket: string): string {
  const license = licenseBucket('');
  return bucket.startsWith(license) ? licenseRateKey(bucket.slice(license.length)) : `lh:rl:{${bucket}}`;
}

/** The reply of lib/token_bucket.lua's takeToken. */
export function takeResult(capacity: number, reply: (string | number | unknown)[]): TakeResult {
  const [allowed, remaining, resetAtMs, retryAfterMs] = reply;
  return {
    allowed: Number(allowed) === 1,
    limit: capacity,
    remaining: Number(remaining),
    resetAtMs: Number(resetAtMs),
    retryAfterMs: Number(retryAfterMs),
  };
}

export function createRedisRateLimiter(redis: RedisConnection): RateLimiter {
  return {
    async take(bucket, spec, cost = 1) {
      checkTake(spec, cost);
      const reply = await runScript(redis, 'rate_limit', [rateLimitKey(bucket)], [spec.capacity, spec.refillPerSecond, cost]);
      return takeResult(spec.capacity, reply);
    },
  };
}
