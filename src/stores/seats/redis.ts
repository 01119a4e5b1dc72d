/** The seat store on Redis: each operation is one Lua script call (see lua/). */
import { runScript, type RedisConnection, type Reply } from '../redisConnection.ts';
import type { BucketSpec } from '../rateLimits/contract.ts';
import { licenseRateKey, takeResult } from '../rateLimits/redis.ts';
import {
  type AcquireOutcome,
  type ActivateOutcome,
  type HeartbeatOutcome,
  type LeaseTerms,
  type LicenseRefusal,
  type LicenseTerms,
  type ReapedSession,
  type ReleaseOutcome,
  type SeatCount,
  type SeatStore,
} from './contract.ts';

/** Keys of one license share the hash tag `{licenseId}`, so every script stays in one Cluster slot. */
function keysOf(licenseId: string) {
  const p = `lh:{${licenseId}}:`;
  return {
    leases: p + 'leases',
    machines: p + 'machines',
    fp: p + 'fp',
    sessions: p + 'sessions',
    meta: p + 'meta',
    rate: licenseRateKey(licenseId),
  };
}

/** The bucket arguments of a seat script: empty to take no token. */
const rateArgs = (rate: BucketSpec | undefined) => (rate ? [rate.capacity, rate.refillPerSecond] : ['', '']);

/** Splits a seat script's `{rate, result}` reply. */
function rated(reply: Reply, rate: BucketSpec | undefined) {
  const [taken, result] = reply as [Reply, (string | number)[]];
  return { rate: rate && taken.length ? takeResult(rate.capacity, taken) : undefined, r: result };
}

/** Script failure codes, as lua/*.lua return them. */
const enum Code {
  Unloaded = -1,
  Suspended = -2,
  Revoked = -3,
  Expired = -4,
  NoSeats = -5,
  TooManyMachines = -6,
  NoLease = -7,
  LeaseExpired = -8,
  RateLimited = -9,
}

const LICENSE_REFUSALS: Record<number, LicenseRefusal> = {
  [Code.Suspended]: 'SUSPENDED',
  [Code.Revoked]: 'REVOKED',
  [Code.Expired]: 'EXPIRED',
};

function termsArgs(terms: LicenseTerms): (string | number)[] {
  return [
    terms.status,
    terms.maxSeats,
    terms.maxMachines ?? -1,
    terms.leaseMs,
    terms.reviveMs,
    terms.expiresAtMs ?? -1,
    terms.tier,
    JSON.stringify(terms.features),
  ];
}

function leaseTerms(tier: string | number, features: string | number, licenseExpiresAt: string | number): LeaseTerms {
  const expires = Number(licenseExpiresAt);
  return { tier: String(tier), features: JSON.parse(String(features)) as string[], licenseExpiresAtMs: expires < 0 ? null : expires };
}

const count = (licenseId: string, used: unknown, max: unknown, nowMs: unknown): SeatCount => ({
  licenseId,
  used: Number(used),
  max: Number(max),
  changedAt: new Date(Number(nowMs)),
});

export function createRedisSeatStore(redis: RedisConnection): SeatStore {
  return {
    kind: 'redis',

    async acquire(licenseId, sessionId, fingerprint, spec) {
      const k = keysOf(licenseId);
      const { rate, r } = rated(
        await runScript(
          redis,
          'acquire',
          [k.leases, k.machines, k.fp, k.sessions, k.meta, k.rate],
          [licenseId, sessionId, fingerprint, ...rateArgs(spec)],
        ),
        spec,
      );
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      if (code < 0) {
        const reason: Extract<AcquireOutcome, { kind: 'refused' }>['reason'] =
          code === Code.NoSeats ? 'NO_SEATS' : code === Code.TooManyMachines ? 'TOO_MANY_MACHINES' : LICENSE_REFUSALS[code]!;
        return { kind: 'refused', reason, seats: count(licenseId, r[1], r[2], r[3]), rate };
      }
      return {
        rate,
        kind: 'granted',
        renewed: code === 1,
        sessionId: String(r[1]),
        expiresAtMs: Number(r[2]),
        seats: count(licenseId, r[3], r[4], r[6]),
        newMachine: r[5] === 1,
        nowMs: Number(r[6]),
        terms: leaseTerms(r[7]!, r[8]!, r[9]!),
      };
    },

    async heartbeat(licenseId, sessionId, spec): Promise<HeartbeatOutcome> {
      const k = keysOf(licenseId);
      const { rate, r } = rated(
        await runScript(redis, 'heartbeat', [k.leases, k.fp, k.sessions, k.meta, k.rate], [licenseId, sessionId, ...rateArgs(spec)]),
        spec,
      );
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      if (code === Code.NoLease) return { kind: 'lapsed', reason: 'unknown', rate };
      if (code === Code.LeaseExpired) return { kind: 'lapsed', reason: 'expired', rate };
      if (code < 0) return { kind: 'refused', reason: LICENSE_REFUSALS[code]!, rate };
      return {
        rate,
        kind: 'renewed',
        revived: code === 1,
        expiresAtMs: Number(r[1]),
        nowMs: Number(r[2]),
        fingerprint: String(r[3]),
        terms: leaseTerms(r[4]!, r[5]!, r[6]!),
      };
    },

    async release(licenseId, sessionId, forgetMachine, spec): Promise<ReleaseOutcome> {
      const k = keysOf(licenseId);
      const { rate, r } = rated(
        await runScript(
          redis,
          'release',
          [k.leases, k.machines, k.fp, k.sessions, k.meta, k.rate],
          [licenseId, sessionId, forgetMachine ? 1 : 0, ...rateArgs(spec)],
        ),
        spec,
      );
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      const state = code === 1 ? 'released' : code === 2 ? 'already-expired' : 'unknown';
      const leaseExpiresAtMs = Number(r[4]);
      return {
        kind: 'released',
        state,
        leaseExpiresAtMs: leaseExpiresAtMs < 0 ? null : leaseExpiresAtMs,
        seats: count(licenseId, r[1], r[2], r[3]),
        rate,
      };
    },

    async count(licenseId) {
      const k = keysOf(licenseId);
      const r = await runScript(redis, 'count', [k.leases, k.meta], []);
      if (Number(r[0]) === Code.Unloaded && r.length === 1) return undefined;
      return count(licenseId, r[0], r[1], r[2]);
    },

    async reap(licenseId, sessionIds) {
      const k = keysOf(licenseId);
      const r = await runScript(redis, 'reap', [k.leases, k.fp, k.sessions, k.meta], [licenseId, ...sessionIds]);
      if (r.length === 1) return undefined;
      const reaped: ReapedSession[] = [];
      for (let i = 3; i < r.length; i += 3) {
        const state = Number(r[i + 1]);
        reaped.push({
          sessionId: String(r[i]),
          state: state === 1 ? 'removed' : state === 0 ? 'held' : 'missing',
          expiresAtMs: Number(r[i + 2]),
        });
      }
      return reaped;
    },

    async activate(licenseId, fingerprint, forget, spec): Promise<ActivateOutcome> {
      const k = keysOf(licenseId);
      const { rate, r } = rated(
        await runScript(redis, 'activate', [k.machines, k.fp, k.meta, k.rate], [licenseId, fingerprint, forget ? 1 : 0, ...rateArgs(spec)]),
        spec,
      );
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      if (code === Code.TooManyMachines) return { kind: 'refused', reason: 'TOO_MANY_MACHINES', rate };
      if (code < 0) return { kind: 'refused', reason: LICENSE_REFUSALS[code]!, rate };
      return { kind: 'activated', newMachine: r[1] === 1, nowMs: Number(r[2]), rate };
    },

    async load(licenseId, terms, sessions, machines) {
      const k = keysOf(licenseId);
      const args: (string | number)[] = [licenseId, ...termsArgs(terms), sessions.length];
      for (const s of sessions) args.push(s.sessionId, s.fingerprint, s.expiresAtMs);
      args.push(...machines);
      await runScript(redis, 'load', [k.leases, k.machines, k.fp, k.sessions, k.meta], args);
    },

    async configure(licenseId, terms) {
      const k = keysOf(licenseId);
      const r = await runScript(redis, 'configure', [k.leases, k.fp, k.sessions, k.meta], [licenseId, ...termsArgs(terms)]);
      return Number(r[0]) === 1 ? { endedSessionIds: r.slice(4).map(String) } : undefined;
    },

    async ping() {
      await redis.ping();
    },

    async close() {
      redis.disconnect();
    },
  };
}
