/** The meter store on Redis: recording is one call of lua/record_usage.lua (layout in lua/lib/meter.lua). */
import type { MeterDefinition } from '../../db/schema.ts';
import { licenseRateArgs, licenseRateKey, ratedReply } from '../rateLimits/redis.ts';
import { runScript, type RedisConnection } from '../redisConnection.ts';
import { LIFETIME_PERIOD, currentPeriod, type MeterCount, type MeterStore, type MeterTerms, type UsagePeriods } from './contract.ts';

/** Keys of one license share the hash tag `{licenseId}` with its seat keys: one Cluster slot. */
const metersKey = (licenseId: string) => `lh:{${licenseId}}:meters`;
const keysKey = (licenseId: string, period: string) => `lh:{${licenseId}}:idem:${period}`;

/** The idempotency hashes in the order the scripts declare them (KEYS[2..6]). */
const keyPeriods = (p: UsagePeriods) => [p.day, p.previousDay, p.month, p.previousMonth, LIFETIME_PERIOD];

const definition = (m: MeterDefinition) => `${m.limit} ${m.overage} ${m.period}`;
const expiresArg = (terms: MeterTerms) => terms.expiresAtMs ?? -1;

/** Script failure codes, as lua/record_usage.lua returns them. */
const enum Code {
  Unloaded = -1,
  Suspended = -2,
  Revoked = -3,
  Expired = -4,
  RateLimited = -9,
  UnknownMeter = -10,
  Exhausted = -11,
}

export function createRedisMeterStore(redis: RedisConnection): MeterStore {
  return {
    async record(licenseId, usage, periods, spec) {
      const keys = [metersKey(licenseId), ...keyPeriods(periods).map((p) => keysKey(licenseId, p)), licenseRateKey(licenseId)];
      const args = [
        usage.meter,
        usage.amount,
        usage.idempotencyKey,
        periods.day,
        periods.month,
        periods.dayKeysTtlMs,
        periods.monthKeysTtlMs,
        ...licenseRateArgs(spec),
      ];
      const { rate, r } = ratedReply(await runScript(redis, 'record_usage', keys, args), spec);
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      if (code === Code.Suspended) return { kind: 'refused', reason: 'SUSPENDED', rate };
      if (code === Code.Revoked) return { kind: 'refused', reason: 'REVOKED', rate };
      if (code === Code.Expired) return { kind: 'refused', reason: 'EXPIRED', rate };
      if (code === Code.UnknownMeter) return { kind: 'unknown-meter', rate };
      const replay = Number(r[1]) === 1;
      const count: MeterCount = { name: usage.meter, used: Number(r[2]), limit: Number(r[3]), overage: Number(r[4]), period: String(r[5]) };
      if (code === Code.Exhausted) return { kind: 'exhausted', replay, count, firstInPeriod: Number(r[6]) === 1, rate };
      return { kind: 'recorded', replay, count, thresholds: r.slice(6).map(Number), rate };
    },

    async read(licenseId, periods) {
      const fields = await redis.hgetall(metersKey(licenseId));
      if (!fields.status) return undefined;
      const counts: MeterCount[] = [];
      for (const [field, value] of Object.entries(fields)) {
        if (!field.startsWith('def:')) continue;
        const name = field.slice(4);
        const [limit, overage, kind] = value.split(' ');
        const period = currentPeriod(kind as MeterDefinition['period'], periods);
        // A count of an earlier period is over: the meter starts this one at 0.
        const stored = fields[`period:${name}`];
        const current = stored !== undefined && stored[0] === period[0] && stored >= period;
        counts.push({
          name,
          used: current ? Number(fields[`used:${name}`]) : 0,
          limit: Number(limit),
          overage: Number(overage),
          period: current ? stored : period,
        });
      }
      return counts;
    },

    async load(licenseId, terms, periods, totals, remembered) {
      const keyIndex = new Map(keyPeriods(periods).map((p, i) => [p, i + 2]));
      const args: (string | number)[] = [terms.status, expiresArg(terms), periods.dayKeysTtlMs, periods.monthKeysTtlMs, terms.meters.length];
      for (const m of terms.meters) {
        const period = currentPeriod(m.period, periods);
        const used = totals.find((t) => t.name === m.name && t.period === period)?.used ?? 0;
        args.push(m.name, m.limit, m.overage, m.period, period, used);
      }
      for (const u of remembered) {
        const index = keyIndex.get(u.period);
        const meter = terms.meters.find((m) => m.name === u.meter);
        if (index === undefined || !meter) continue;
        args.push(index, `${u.meter}\n${u.idempotencyKey}`, `0 ${u.used} ${meter.limit} ${meter.overage} ${u.period}`);
      }
      const keys = [metersKey(licenseId), ...keyPeriods(periods).map((p) => keysKey(licenseId, p))];
      await runScript(redis, 'load_meters', keys, args);
    },

    async configure(licenseId, terms) {
      const args = [terms.status, expiresArg(terms), ...terms.meters.flatMap((m) => [m.name, definition(m)])];
      await runScript(redis, 'configure_meters', [metersKey(licenseId)], args);
    },
  };
}
