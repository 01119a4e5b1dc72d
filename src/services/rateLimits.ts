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
import { licenseBucket, type BucketSpec, type TakeResult } from '../stores/rateLimits/contract.ts';
import { RequestError } from './errors.ts';
import type { Principal } from './principals.ts';

/** A limit as operators write it: `requests` per `perSeconds`, refilled continuously; bursts up to `requests`. */
export interface RateLimit {
  requests: number;
  perSeconds: number;
}

export interface RateLimitPolicy {
  /** No credential: per client address. */
  anonymous: RateLimit;
  /** Dashboard users: per user. */
  user: RateLimit;
  /** The operator's root token: per organization. */
  operator: RateLimit;
  /** Seat operations (acquire, heartbeat, release, validate) of one license key. */
  license: RateLimit;
  /** API keys: per key, by the key's tier. Always has `standard`, the tier of keys made without one. */
  apiKeyTiers: Record<string, RateLimit>;
}

export const DEFAULT_TIER = 'standard';

export const DEFAULT_RATE_LIMITS: RateLimitPolicy = {
  anonymous: { requests: 100, perSeconds: 60 },
  user: { requests: 1000, perSeconds: 60 },
  operator: { requests: 1000, perSeconds: 60 },
  license: { requests: 600, perSeconds: 60 },
  apiKeyTiers: {
    standard: { requests: 1000, perSeconds: 60 },
    pro: { requests: 5000, perSeconds: 60 },
    enterprise: { requests: 20_000, perSeconds: 60 },
  },
};

const UNITS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86_400, day: 86_400 };
const TIER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MAX_REQUESTS = 100_000_000;

/** `"1000/min"`, `"20/s"`, `"5000/hour"`, or `{ "requests": 1000, "perSeconds": 60 }`. */
export function parseRateLimit(value: unknown, where: string): RateLimit {
  let limit: RateLimit | undefined;
  if (typeof value === 'string') {
    const match = /^\s*(\d+)\s*\/\s*([a-z]+)\s*$/.exec(value);
    const seconds = match && UNITS[match[2]!];
    if (match && seconds) limit = { requests: Number(match[1]), perSeconds: seconds };
  } else if (value && typeof value === 'object') {
    const { requests, perSeconds, ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length === 0 && typeof requests === 'number' && typeof perSeconds === 'number') limit = { requests, perSeconds };
  }
  if (!limit)
    throw new Error(`${where}: expected "N/min" (or /s, /hour, /day) or { "requests": N, "perSeconds": S }, got ${JSON.stringify(value)}`);
  if (!Number.isInteger(limit.requests) || limit.requests < 1 || limit.requests > MAX_REQUESTS) {
    throw new Error(`${where}: requests must be an integer from 1 to ${MAX_REQUESTS}`);
  }
  if (!(limit.perSeconds > 0 && limit.perSeconds <= 86_400)) throw new Error(`${where}: perSeconds must be in (0, 86400]`);
  return limit;
}

/**
 * Reads the `RATE_LIMITS` JSON, e.g.
 * `{"anonymous":"100/min","apiKeyTiers":{"pro":"5000/min","internal":"100000/min"}}`.
 * What it leaves out keeps its default; tiers are added to (or replace) the default tiers.
 * Throws an Error naming the faulty entry; config.ts wraps it in a ConfigError.
 */
export function parseRateLimitPolicy(json: string | undefined): RateLimitPolicy {
  if (json === undefined || json.trim() === '') return DEFAULT_RATE_LIMITS;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('not valid JSON');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('expected a JSON object');
  const { anonymous, user, operator, license, apiKeyTiers, ...unknown } = raw as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length > 0) throw new Error(`unknown ${extra.join(', ')} (expected anonymous, user, operator, license, apiKeyTiers)`);
  const policy: RateLimitPolicy = {
    anonymous: anonymous === undefined ? DEFAULT_RATE_LIMITS.anonymous : parseRateLimit(anonymous, 'anonymous'),
    user: user === undefined ? DEFAULT_RATE_LIMITS.user : parseRateLimit(user, 'user'),
    operator: operator === undefined ? DEFAULT_RATE_LIMITS.operator : parseRateLimit(operator, 'operator'),
    license: license === undefined ? DEFAULT_RATE_LIMITS.license : parseRateLimit(license, 'license'),
    apiKeyTiers: { ...DEFAULT_RATE_LIMITS.apiKeyTiers },
  };
  if (apiKeyTiers !== undefined) {
    if (!apiKeyTiers || typeof apiKeyTiers !== 'object' || Array.isArray(apiKeyTiers)) throw new Error('apiKeyTiers: expected an object');
    for (const [tier, limit] of Object.entries(apiKeyTiers)) {
      if (!TIER_NAME.test(tier)) throw new Error(`apiKeyTiers: "${tier}" is not a tier name (a-z, 0-9, _ and -, at most 32)`);
      policy.apiKeyTiers[tier] = parseRateLimit(limit, `apiKeyTiers.${tier}`);
    }
  }
  return policy;
}

export const bucketSpec = (limit: RateLimit): BucketSpec => ({
  capacity: limit.requests,
  refillPerSecond: limit.requests / limit.perSeconds,
});

export const isKnownTier = (policy: RateLimitPolicy, tier: string): boolean => Object.hasOwn(policy.apiKeyTiers, tier);

/** A key whose tier was dropped from the configuration falls back to the default tier. */
export const tierLimit = (policy: RateLimitPolicy, tier: string): RateLimit =>
  (isKnownTier(policy, tier) ? policy.apiKeyTiers[tier] : policy.apiKeyTiers[DEFAULT_TIER]) ??
  DEFAULT_RATE_LIMITS.apiKeyTiers[DEFAULT_TIER]!;

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

/** The refusal of a request whose bucket is empty: HTTP 429 with Retry-After. */
export function rateLimitedError(take: TakeResult): RequestError {
  const retryAfter = retryAfterSeconds(take);
  return new RequestError('RATE_LIMITED', `Rate limit exceeded (${take.limit} requests at most); retry in ${retryAfter} s.`, {
    retryAfter,
    http: { status: 429, headers: { 'Retry-After': String(retryAfter) } },
  });
}
