/**
 * Who gets how many requests. Every caller draws from one token bucket: an API key from its
 * own (sized by its tier), a user from theirs, the operator's root token per organization, an
 * anonymous caller per client address, and the seat path per license.
 *
 * The seat path is limited per license and not per address because its callers are the
 * licensed app's machines: hundreds of them behind one office NAT share an address, and a
 * per-address bucket would starve them; a license's own bucket grows with nobody but its own
 * machines. 600/min covers the heartbeats of ~1800 seats at the default lease (one heartbeat
 * per machine every ~3 minutes) plus their acquires; a bigger fleet gets a bigger limit in
 * `RATE_LIMITS`. Only keys this server issued reach a license bucket (the checksum needs the
 * server secret), so made-up keys cannot mint fresh buckets: they count against the address.
 */
import { tierLimit, type RateLimit, type RateLimitPolicy } from '../config/rateLimitPolicy.ts';
import { licenseBucket, type BucketSpec, type TakeResult } from '../stores/rateLimits/contract.ts';
import { RequestError } from './errors.ts';
import type { Principal } from './principals.ts';

export const bucketSpec = (limit: RateLimit): BucketSpec => ({
  capacity: limit.requests,
  refillPerSecond: limit.requests / limit.perSeconds,
});

/** Who a request is counted against. */
export type RateLimitedCaller =
  { kind: 'principal'; principal: Principal } | { kind: 'license'; licenseId: string } | { kind: 'anonymous'; clientIp: string };

export interface RateLimitBucket {
  /** Names the bucket in the rate limiter (`key:…`, `user:…`, `operator:…`, `license:…`, `ip:…`). */
  name: string;
  spec: BucketSpec;
}

export function rateLimitBucket(policy: RateLimitPolicy, caller: RateLimitedCaller): RateLimitBucket {
  if (caller.kind === 'anonymous') return { name: `ip:${caller.clientIp}`, spec: bucketSpec(policy.anonymous) };
  if (caller.kind === 'license') return { name: licenseBucket(caller.licenseId), spec: bucketSpec(policy.license) };
  const p = caller.principal;
  switch (p.kind) {
    case 'apiKey':
      return { name: `key:${p.keyId}`, spec: bucketSpec(tierLimit(policy, p.tier)) };
    case 'user':
      return { name: `user:${p.userId}`, spec: bucketSpec(policy.user) };
    case 'operator':
      return { name: `operator:${p.orgId}`, spec: bucketSpec(policy.operator) };
  }
}

/**
 * A seat operation's token from its license's bucket, taken by the seat store in the same step
 * as the operation (one round trip). `taken` hears of every token taken, for the response's
 * rate-limit headers.
 */
export interface SeatRateLimit {
  spec: BucketSpec;
  taken(result: TakeResult): void;
}

export const retryAfterSeconds = (take: TakeResult) => Math.max(1, Math.ceil(take.retryAfterMs / 1000));

/**
 * The refusal of a request whose bucket is empty: HTTP 429. The `Retry-After` header is set
 * once, by the rate-limit plugin with the other rate-limit headers (a header here as well would
 * be sent twice).
 */
export function rateLimitedError(take: TakeResult): RequestError {
  const retryAfter = retryAfterSeconds(take);
  return new RequestError('RATE_LIMITED', `Rate limit exceeded (${take.limit} requests at most); retry in ${retryAfter} s.`, {
    retryAfter,
    http: { status: 429 },
  });
}
