/** Token buckets on Redis: each take is one call of lua/rate_limit.lua, atomic across instances. */
import { runScript, type RedisConnection, type Reply } from '../redisConnection.ts';
import { checkTake, licenseBucket, type BucketSpec, type RateLimiter, type TakeResult } from './contract.ts';

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

/** The bucket arguments of a script that may take its license's token: empty to take none. */
export const licenseRateArgs = (rate: BucketSpec | undefined) => (rate ? [rate.capacity, rate.refillPerSecond] : ['', '']);

/** Splits the `{rate, result}` reply of a script that takes its license's token (lib/token_bucket.lua's takeSeatToken). */
export function ratedReply(reply: Reply, rate: BucketSpec | undefined) {
  const [taken, result] = reply as [Reply, (string | number)[]];
  return { rate: rate && taken.length ? takeResult(rate.capacity, taken) : undefined, r: result };
}
