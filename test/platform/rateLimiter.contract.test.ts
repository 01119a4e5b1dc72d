/**
 * One contract, two implementations: lua/rate_limit.lua and the in-process limiter of the
 * embedded mode. The suite lives in support/rateLimiterContract.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createMemoryRateLimiter } from '../../src/stores/rateLimits/memory.ts';
import { createRedisRateLimiter, rateLimitKey } from '../../src/stores/rateLimits/redis.ts';
import { describeRateLimiterContract } from '../support/rateLimiterContract.ts';

// Same default as support/harness.ts, which is not imported here because it builds the whole app.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = await connectRedis(REDIS_URL);
afterAll(() => redis.disconnect());

describeRateLimiterContract('redis', createRedisRateLimiter(redis));
describeRateLimiterContract('memory', createMemoryRateLimiter());

describe('the redis rate limiter', () => {
  it('keeps a bucket only until it is full again, so idle callers cost no memory', async () => {
    const limiter = createRedisRateLimiter(redis);
    const bucket = `test:${crypto.randomUUID()}`;
    await limiter.take(bucket, { capacity: 3, refillPerSecond: 1 });
    const ttl = await redis.pttl(rateLimitKey(bucket));
    expect(ttl).toBeGreaterThan(900);
    expect(ttl).toBeLessThanOrEqual(1000);
  });

  it('stores nothing for a take that leaves the bucket full', async () => {
    const bucket = `test:${crypto.randomUUID()}`;
    await createRedisRateLimiter(redis).take(bucket, { capacity: 3, refillPerSecond: 1 }, 0);
    expect(await redis.exists(rateLimitKey(bucket))).toBe(0);
  });
});
