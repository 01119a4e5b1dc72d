/**
 * The meter store of the embedded mode: the contract of lua/record_usage.lua kept in process
 * memory, for one instance. Each method runs to completion without awaiting, so it is as
 * atomic as the script. License tokens come from the buckets the rate limiter fills.
 */
import type { MeterDefinition } from '../../db/schema.ts';
import { licenseBucket, type BucketSpec } from '../rateLimits/contract.ts';
import type { TokenBuckets } from '../rateLimits/memory.ts';
import {
  LIFETIME_PERIOD,
  crossedThresholds,
  currentPeriod,
  type MeterCount,
  type MeterStore,
  type MeterTerms,
  type UsagePeriods,
} from './contract.ts';

interface Counter {
  period: string;
  used: number;
  fired: number;
  exhausted: boolean;
}

/** An idempotency key's first answer. */
interface FirstAnswer {
  exhausted: boolean;
  count: MeterCount;
}

/** The idempotency keys of one period, as one Redis hash: they all go at `expiresAtMs` (Infinity for lifetime meters). */
interface PeriodKeys {
  expiresAtMs: number;
  /** `<meter>\n<idempotency key>` */
  answers: Map<string, FirstAnswer>;
}

interface LicenseMeters {
  terms: MeterTerms;
  counters: Map<string, Counter>;
  keys: Map<string, PeriodKeys>;
}

/** Whether a stored period is the current one or newer (a lagging caller counts into it). */
const isCurrent = (stored: string, period: string) => stored[0] === period[0] && stored >= period;

/** The idempotency hashes of the current periods and the ones before, with how long a write keeps each. */
const keyTtls = (p: UsagePeriods) =>
  new Map([
    [p.day, p.dayKeysTtlMs],
    [p.previousDay, p.dayKeysTtlMs],
    [p.month, p.monthKeysTtlMs],
    [p.previousMonth, p.monthKeysTtlMs],
    [LIFETIME_PERIOD, Infinity],
  ]);

export function createMemoryMeterStore(buckets: TokenBuckets, clock = Date.now): MeterStore {
  const licenses = new Map<string, LicenseMeters>();

  const keysOf = (kind: MeterDefinition['period'], periods: UsagePeriods) =>
    kind === 'DAY'
      ? { current: periods.day, previous: periods.previousDay, ttlMs: periods.dayKeysTtlMs }
      : kind === 'MONTH'
        ? { current: periods.month, previous: periods.previousMonth, ttlMs: periods.monthKeysTtlMs }
        : { current: LIFETIME_PERIOD, previous: LIFETIME_PERIOD, ttlMs: Infinity };

  /** A period's live keys; an expired period's are dropped, as Redis drops the hash. */
  const periodKeys = (l: LicenseMeters, period: string, now: number) => {
    const keys = l.keys.get(period);
    if (keys && keys.expiresAtMs <= now) l.keys.delete(period);
    return keys && keys.expiresAtMs > now ? keys : undefined;
  };

  return {
    async record(licenseId, usage, periods, spec?: BucketSpec) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const rate = spec && buckets.take(licenseBucket(licenseId), spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const now = clock();
      const { status, expiresAtMs } = l.terms;
      if (status !== 'ACTIVE') return { kind: 'refused', reason: status, rate };
      if (expiresAtMs !== null && expiresAtMs <= now) return { kind: 'refused', reason: 'EXPIRED', rate };
      const meter = l.terms.meters.find((m) => m.name === usage.meter);
      if (!meter) return { kind: 'unknown-meter', rate };

      const keys = keysOf(meter.period, periods);
      const field = `${meter.name}\n${usage.idempotencyKey}`;
      const first = periodKeys(l, keys.current, now)?.answers.get(field) ?? periodKeys(l, keys.previous, now)?.answers.get(field);
      if (first) {
        return first.exhausted
          ? { kind: 'exhausted', replay: true, count: first.count, firstInPeriod: false, rate }
          : { kind: 'recorded', replay: true, count: first.count, thresholds: [], rate };
      }

      let counter = l.counters.get(meter.name);
      if (!counter || !isCurrent(counter.period, keys.current)) {
        counter = { period: keys.current, used: 0, fired: 0, exhausted: false };
        l.counters.set(meter.name, counter);
      }
      const remember = (exhausted: boolean, count: MeterCount) => {
        const current = periodKeys(l, keys.current, now) ?? { expiresAtMs: 0, answers: new Map() };
        // Every write renews the whole period's keys, as PEXPIRE renews the script's hash.
        current.expiresAtMs = now + keys.ttlMs;
        current.answers.set(field, { exhausted, count });
        l.keys.set(keys.current, current);
      };
      const countNow = (): MeterCount => ({
        name: meter.name,
        used: counter.used,
        limit: meter.limit,
        overage: meter.overage,
        period: counter.period,
      });
      if (counter.used + usage.amount > meter.limit + meter.overage) {
        const firstInPeriod = !counter.exhausted;
        counter.exhausted = true;
        const count = countNow();
        remember(true, count);
        return { kind: 'exhausted', replay: false, count, firstInPeriod, rate };
      }
      counter.used += usage.amount;
      const thresholds = crossedThresholds(counter.used, meter.limit, counter.fired);
      counter.fired = thresholds.at(-1) ?? counter.fired;
      const count = countNow();
      remember(false, count);
      return { kind: 'recorded', replay: false, count, thresholds, rate };
    },

    async read(licenseId, periods) {
      const l = licenses.get(licenseId);
      if (!l) return undefined;
      return l.terms.meters.map((m) => {
        const period = currentPeriod(m.period, periods);
        const counter = l.counters.get(m.name);
        const current = counter !== undefined && isCurrent(counter.period, period);
        return { name: m.name, used: current ? counter.used : 0, limit: m.limit, overage: m.overage, period: current ? counter.period : period };
      });
    },

    async load(licenseId, terms, periods, totals, remembered) {
      if (licenses.has(licenseId)) return;
      const now = clock();
      const l: LicenseMeters = { terms, counters: new Map(), keys: new Map() };
      for (const m of terms.meters) {
        const period = currentPeriod(m.period, periods);
        const used = totals.find((t) => t.name === m.name && t.period === period)?.used ?? 0;
        l.counters.set(m.name, { period, used, fired: crossedThresholds(used, m.limit, 0).at(-1) ?? 0, exhausted: false });
      }
      const ttls = keyTtls(periods);
      for (const u of remembered) {
        const meter = terms.meters.find((m) => m.name === u.meter);
        const ttlMs = ttls.get(u.period);
        if (!meter || ttlMs === undefined) continue;
        const keys = l.keys.get(u.period) ?? { expiresAtMs: now + ttlMs, answers: new Map() };
        keys.answers.set(`${u.meter}\n${u.idempotencyKey}`, {
          exhausted: false,
          count: { name: u.meter, used: u.used, limit: meter.limit, overage: meter.overage, period: u.period },
        });
        l.keys.set(u.period, keys);
      }
      licenses.set(licenseId, l);
    },

    async configure(licenseId, terms) {
      const l = licenses.get(licenseId);
      if (l) l.terms = terms;
    },
  };
}
