/** The seat store on Redis: each operation is one Lua script call (see lua/). */
import { runScript, type RedisConnection, type Reply } from '../redisConnection.ts';
import type { BucketSpec } from '../rateLimits/contract.ts';
import { licenseRateKey, takeResult } from '../rateLimits/redis.ts';
import {
  type AcquireRefusal,
  type ActivateOutcome,
  type HeartbeatOutcome,
  type LeaseTerms,
  type LicenseRefusal,
  type LicenseTerms,
  type ReapedSession,
  type ReleaseOutcome,
  type QueueStatus,
  type TicketOutcome,
  type SeatCount,
  type SeatStore,
  seatBound,
} from './contract.ts';

/**
 * A license's seat keys, in the order every seat script declares them (lua/lib/seat_keys.lua).
 * They share the hash tag `{licenseId}`, so every script stays in one Cluster slot.
 */
function seatKeys(licenseId: string): string[] {
  const p = `lh:{${licenseId}}:`;
  return [
    p + 'leases',
    p + 'machines',
    p + 'fp',
    p + 'sessions',
    p + 'meta',
    licenseRateKey(licenseId),
    p + 'overage',
    p + 'holders',
    p + 'holderOf',
    p + 'users',
    p + 'linger',
    p + 'queue',
    p + 'tickets',
    p + 'ready',
    p + 'ticketInfo',
    p + 'ticketOf',
    p + 'ticketEnds',
  ];
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
  UserIdRequired = -10,
  ProcessIdRequired = -11,
  TooManyProcesses = -12,
  TicketNotFound = -13,
  TicketEnded = -14,
}

const LICENSE_REFUSALS: Record<number, LicenseRefusal> = {
  [Code.Suspended]: 'SUSPENDED',
  [Code.Revoked]: 'REVOKED',
  [Code.Expired]: 'EXPIRED',
};

const ACQUIRE_REFUSALS: Record<number, AcquireRefusal> = {
  ...LICENSE_REFUSALS,
  [Code.NoSeats]: 'NO_SEATS',
  [Code.TooManyMachines]: 'TOO_MANY_MACHINES',
  [Code.UserIdRequired]: 'USER_ID_REQUIRED',
  [Code.ProcessIdRequired]: 'PROCESS_ID_REQUIRED',
  [Code.TooManyProcesses]: 'TOO_MANY_PROCESSES',
  [Code.TicketNotFound]: 'TICKET_NOT_FOUND',
  [Code.TicketEnded]: 'TICKET_ENDED',
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
    seatBound(terms) ?? -1,
    terms.leasingStrategy,
    terms.maxProcessesPerMachine ?? -1,
    terms.lingerMs,
    terms.queue.enabled ? 1 : 0,
    terms.queue.maxLength,
    terms.queue.claimMs,
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

    async acquire(licenseId, sessionId, fingerprint, spec, ids) {
      const { rate, r } = rated(
        await runScript(redis, 'acquire', seatKeys(licenseId), [
          licenseId,
          sessionId,
          fingerprint,
          ...rateArgs(spec),
          ids?.userId ?? '',
          ids?.processId ?? '',
          ids?.queueTicketId ?? '',
          ids?.claimTicketId ?? '',
        ]),
        spec,
      );
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      if (code === 2) {
        return {
          rate,
          kind: 'queued',
          seats: count(licenseId, r[4], r[5], r[6]),
          // Queued answers carry place and expiry; the holder's ids are the caller's, read back on a ticket call.
          ticket: {
            ticketId: String(r[1]),
            licenseId,
            status: 'WAITING',
            position: Number(r[2]),
            expiresAtMs: Number(r[3]),
            fingerprint,
            userId: ids?.userId ?? null,
            processId: ids?.processId ?? null,
          },
        };
      }
      if (code < 0) {
        const refused = { kind: 'refused', reason: ACQUIRE_REFUSALS[code]!, seats: count(licenseId, r[1], r[2], r[3]), rate } as const;
        return r.length > 4 ? { ...refused, limit: Number(r[4]) } : refused;
      }
      return {
        rate,
        kind: 'granted',
        renewed: code === 1,
        sessionId: String(r[1]),
        expiresAtMs: Number(r[2]),
        seats: count(licenseId, r[3], r[4], r[6]),
        newMachine: r[5] === 1,
        overage: r[10] === 1,
        nowMs: Number(r[6]),
        terms: leaseTerms(r[7]!, r[8]!, r[9]!),
      };
    },

    async heartbeat(licenseId, sessionId, spec): Promise<HeartbeatOutcome> {
      const { rate, r } = rated(await runScript(redis, 'heartbeat', seatKeys(licenseId), [licenseId, sessionId, ...rateArgs(spec)]), spec);
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
        overage: r[7] === 1,
        terms: leaseTerms(r[4]!, r[5]!, r[6]!),
      };
    },

    async release(licenseId, sessionId, forgetMachine, spec, options): Promise<ReleaseOutcome> {
      const { rate, r } = rated(
        await runScript(redis, 'release', seatKeys(licenseId), [
          licenseId,
          sessionId,
          forgetMachine ? 1 : 0,
          ...rateArgs(spec),
          options?.linger ? 1 : 0,
        ]),
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

    async ticket(licenseId, ticketId, action): Promise<TicketOutcome> {
      const r = await runScript(redis, 'ticket', seatKeys(licenseId), [licenseId, ticketId, action]);
      if (Number(r[0]) === Code.Unloaded) return { kind: 'unloaded' };
      if (Number(r[0]) === Code.TicketNotFound) return { kind: 'ticket', ticket: null, nowMs: Date.now() };
      const optional = (value: unknown) => (value === '' ? null : String(value));
      return {
        kind: 'ticket',
        nowMs: Number(r[6]),
        ticket: {
          ticketId,
          licenseId,
          status: String(r[0]) as QueueStatus,
          position: Number(r[1]),
          expiresAtMs: Number(r[2]),
          fingerprint: String(r[3]),
          userId: optional(r[4]),
          processId: optional(r[5]),
        },
      };
    },

    async count(licenseId) {
      const r = await runScript(redis, 'count', seatKeys(licenseId), []);
      if (Number(r[0]) === Code.Unloaded && r.length === 1) return undefined;
      return count(licenseId, r[0], r[1], r[2]);
    },

    async reap(licenseId, sessionIds) {
      const r = await runScript(redis, 'reap', seatKeys(licenseId), [licenseId, ...sessionIds]);
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
      const { rate, r } = rated(
        await runScript(redis, 'activate', seatKeys(licenseId), [licenseId, fingerprint, forget ? 1 : 0, ...rateArgs(spec)]),
        spec,
      );
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.RateLimited) return { kind: 'rate-limited', rate: rate! };
      if (code === Code.TooManyMachines) return { kind: 'refused', reason: 'TOO_MANY_MACHINES', rate };
      if (code < 0) return { kind: 'refused', reason: LICENSE_REFUSALS[code]!, rate };
      return { kind: 'activated', newMachine: r[1] === 1, nowMs: Number(r[2]), rate };
    },

    async load(licenseId, terms, sessions, machines, lingering = []) {
      const args: (string | number)[] = [licenseId, ...termsArgs(terms), sessions.length];
      for (const s of sessions) args.push(s.sessionId, s.fingerprint, s.expiresAtMs, s.overage ? 1 : 0, s.userId ?? '', s.processId ?? '');
      args.push(lingering.length);
      for (const s of lingering) args.push(s.sessionId, s.fingerprint, s.userId ?? '', s.processId ?? '', s.untilMs);
      args.push(...machines);
      await runScript(redis, 'load', seatKeys(licenseId), args);
    },

    async configure(licenseId, terms) {
      const r = await runScript(redis, 'configure', seatKeys(licenseId), [licenseId, ...termsArgs(terms)]);
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
