/**
 * The rate limiter contract as one shared suite: lua/rate_limit.lua on Redis and the in-process
 * limiter of the embedded mode must count every token the same way. A test file calls
 * `describeRateLimiterContract` once per implementation and owns the connections.
 */
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/stores/rateLimits/contract.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bucketName = () => `test:${crypto.randomUUID()}`;
/** Refills so slowly that no token comes back while a test runs: counts are exact. */
const STILL = 0.0001;

export function describeRateLimiterContract(name: string, limiter: RateLimiter): void {
  describe(`the ${name} rate limiter`, () => {
    it('starts a bucket full and says when it will be full again', async () => {
      const before = Date.now();
      const taken = await limiter.take(bucketName(), { capacity: 10, refillPerSecond: 10 });
      expect(taken).toMatchObject({ allowed: true, limit: 10, remaining: 9, retryAfterMs: 0 });
      // One token back at 10/s takes 100 ms.
      expect(taken.resetAtMs).toBeGreaterThanOrEqual(before + 90);
      expect(taken.resetAtMs).toBeLessThanOrEqual(Date.now() + 110);
    });

    it('moves a bucket by exactly 100 for 100 concurrent takes', async () => {
      const bucket = bucketName();
      const spec = { capacity: 1000, refillPerSecond: STILL };
      const results = await Promise.all(Array.from({ length: 100 }, () => limiter.take(bucket, spec)));
      expect(results.every((r) => r.allowed)).toBe(true);
      expect(new Set(results.map((r) => r.remaining)).size).toBe(100);
      expect(Math.min(...results.map((r) => r.remaining))).toBe(900);
      expect((await limiter.take(bucket, spec, 0)).remaining).toBe(900);
    });

    it('grants exactly its capacity to 300 concurrent takes', async () => {
      const bucket = bucketName();
      const results = await Promise.all(Array.from({ length: 300 }, () => limiter.take(bucket, { capacity: 50, refillPerSecond: STILL })));
      expect(results.filter((r) => r.allowed)).toHaveLength(50);
      expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0 && r.retryAfterMs > 0)).toBe(true);
    });

    it('refuses when empty, says how long until a token is back, and a refusal costs nothing', async () => {
      const bucket = bucketName();
      const spec = { capacity: 2, refillPerSecond: 1 };
      await limiter.take(bucket, spec);
      await limiter.take(bucket, spec);
      const refused = await limiter.take(bucket, spec);
      expect(refused).toMatchObject({ allowed: false, remaining: 0 });
      expect(refused.retryAfterMs).toBeGreaterThan(500);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      const again = await limiter.take(bucket, spec);
      expect(again.allowed).toBe(false);
      expect(again.retryAfterMs).toBeLessThanOrEqual(refused.retryAfterMs);
    });

    it('serves again once retryAfter has passed', async () => {
      const bucket = bucketName();
      const spec = { capacity: 1, refillPerSecond: 10 };
      await limiter.take(bucket, spec);
      const refused = await limiter.take(bucket, spec);
      expect(refused.allowed).toBe(false);
      await sleep(refused.retryAfterMs + 15);
      expect((await limiter.take(bucket, spec)).allowed).toBe(true);
    });

    it('refills continuously, never beyond its capacity', async () => {
      const bucket = bucketName();
      const spec = { capacity: 5, refillPerSecond: 10 };
      const drainedAt = Date.now();
      expect(await limiter.take(bucket, spec, 5)).toMatchObject({ allowed: true, remaining: 0 });
      await sleep(250);
      const partly = await limiter.take(bucket, spec, 0);
      // At least 250 ms of refill at 10/s; at most what the time measured around it allows (a loaded machine sleeps longer).
      expect(partly.remaining).toBeGreaterThanOrEqual(2);
      expect(partly.remaining).toBeLessThanOrEqual(Math.min(5, Math.floor((Date.now() - drainedAt) / 100)));
      await sleep(600);
      expect((await limiter.take(bucket, spec, 0)).remaining).toBe(5);
    });

    it('takes a cost of several tokens at once, or none of them', async () => {
      const bucket = bucketName();
      const spec = { capacity: 10, refillPerSecond: STILL };
      expect(await limiter.take(bucket, spec, 7)).toMatchObject({ allowed: true, remaining: 3 });
      expect(await limiter.take(bucket, spec, 4)).toMatchObject({ allowed: false, remaining: 3 });
      expect(await limiter.take(bucket, spec, 3)).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('clamps a bucket whose capacity was lowered', async () => {
      const bucket = bucketName();
      await limiter.take(bucket, { capacity: 100, refillPerSecond: STILL });
      expect(await limiter.take(bucket, { capacity: 10, refillPerSecond: STILL })).toMatchObject({
        allowed: true,
        limit: 10,
        remaining: 9,
      });
    });

    it('refuses a cost above the capacity or a bucket that never refills', async () => {
      await expect(limiter.take(bucketName(), { capacity: 3, refillPerSecond: 1 }, 4)).rejects.toThrow(RangeError);
      await expect(limiter.take(bucketName(), { capacity: 3, refillPerSecond: 0 })).rejects.toThrow(RangeError);
    });
  });
}
