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

export interface RateLimiter {
  take(bucket: string, spec: BucketSpec, cost?: number): Promise<TakeResult>;
}
