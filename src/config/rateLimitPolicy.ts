/**
 * The rate-limit policy as operators configure it (`RATE_LIMITS`): requests per caller kind,
 * per API-key tier and per license. Parsed once at start by config.ts; services/rateLimits.ts
 * turns it into the token buckets each request draws from.
 */
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
  /** Sign-in attempts of one account from one address. */
  signInAccountAddress: RateLimit;
  /** Sign-in attempts from one address, whatever the account (a password sprayed over many). */
  signInAddress: RateLimit;
  /** Sign-in attempts of one account from every address together; addresses it signed in from lately pass it. */
  signInAccount: RateLimit;
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
  signInAccountAddress: { requests: 5, perSeconds: 60 },
  signInAddress: { requests: 20, perSeconds: 60 },
  signInAccount: { requests: 30, perSeconds: 900 },
};

/** The limits named by one key each (every entry but apiKeyTiers). */
const SINGLE_LIMITS = ['anonymous', 'user', 'operator', 'license', 'signInAccountAddress', 'signInAddress', 'signInAccount'] as const;

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
  const { apiKeyTiers, ...singles } = raw as Record<string, unknown>;
  const extra = Object.keys(singles).filter((name) => !(SINGLE_LIMITS as readonly string[]).includes(name));
  if (extra.length > 0) throw new Error(`unknown ${extra.join(', ')} (expected ${[...SINGLE_LIMITS, 'apiKeyTiers'].join(', ')})`);
  const policy: RateLimitPolicy = { ...DEFAULT_RATE_LIMITS, apiKeyTiers: { ...DEFAULT_RATE_LIMITS.apiKeyTiers } };
  for (const name of SINGLE_LIMITS) if (singles[name] !== undefined) policy[name] = parseRateLimit(singles[name], name);
  if (apiKeyTiers !== undefined) {
    if (!apiKeyTiers || typeof apiKeyTiers !== 'object' || Array.isArray(apiKeyTiers)) throw new Error('apiKeyTiers: expected an object');
    for (const [tier, limit] of Object.entries(apiKeyTiers)) {
      if (!TIER_NAME.test(tier)) throw new Error(`apiKeyTiers: "${tier}" is not a tier name (a-z, 0-9, _ and -, at most 32)`);
      policy.apiKeyTiers[tier] = parseRateLimit(limit, `apiKeyTiers.${tier}`);
    }
  }
  return policy;
}

export const isKnownTier = (policy: RateLimitPolicy, tier: string): boolean => Object.hasOwn(policy.apiKeyTiers, tier);

/** A key whose tier was dropped from the configuration falls back to the default tier. */
export const tierLimit = (policy: RateLimitPolicy, tier: string): RateLimit =>
  (isKnownTier(policy, tier) ? policy.apiKeyTiers[tier] : policy.apiKeyTiers[DEFAULT_TIER]) ??
  DEFAULT_RATE_LIMITS.apiKeyTiers[DEFAULT_TIER]!;
