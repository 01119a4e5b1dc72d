/**
 * Token buckets shared by every instance: the Redis implementation runs lua/rate_limit.lua,
 * the in-process one serves the embedded mode. Both refill continuously at `refillPerSecond`
 * up to `capacity`.
 */
export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export interface TakeResult {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Unix ms at which the bucket is full again. */
  resetAtMs: number;
  /** When refused: ms until `cost` tokens are available. */
  retryAfterMs: number;
}

/**
 * The bucket of one license's seat operations. The seat stores take from it in the same
 * atomic step as the seat operation itself (one round trip); anything else limited per
 * license takes from it through a RateLimiter under this name.
 */
export const licenseBucket = (licenseId: string) => `license:${licenseId}`;

export interface RateLimiter {
  take(bucket: string, spec: BucketSpec, cost?: number): Promise<TakeResult>;
}

/** Both implementations refuse the same nonsense: a bucket that can never refill or never serve `cost`. */
export function checkTake(spec: BucketSpec, cost: number): void {
  if (!(Number.isFinite(spec.capacity) && spec.capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${spec.capacity}`);
  if (!(Number.isFinite(spec.refillPerSecond) && spec.refillPerSecond > 0)) {
    throw new RangeError(`refillPerSecond must be positive, got ${spec.refillPerSecond}`);
  }
  if (!(Number.isInteger(cost) && cost >= 0 && cost <= spec.capacity)) {
    throw new RangeError(`cost must be an integer in [0, capacity], got ${cost}`);
  }
}
