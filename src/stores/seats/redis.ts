/** The seat store on Redis: each operation is one Lua script call (see lua/). */
import { runScript, type RedisConnection, type Reply } from '../redisConnection.ts';
import type { BucketSpec } from '../rateLimits/contract.ts';
import { licenseRateKey, takeResult } from '../rateLimits/redis.ts';
import {
  type AcquireRefusal,
  type ActivateOutcome,
  type DeactivateOutcome,
  type HeartbeatOutcome,
  type LeaseTerms,
  type LicenseRefusal,
  type LicenseTerms,
  type LingeringSeat,
  type LoadedSession,
  type LoadedTicket,
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
    p + 'onMachine',
    p + 'borrowed',
  ];
}

/**
 * Entries (sessions, lingering seats, tickets or machines) per call of lua/load.lua, and session
 * ids per call of lua/reap.lua (at most its own REAP_MAX): `npm run bench -- --part scale`
 * measured a median call of 5.5 ms for 500 loaded sessions and 10 ms for 500 reaped ones on a
 * busy 2-core machine, so a call of 200 holds Redis for a few milliseconds at any license size.
 */
const LOAD_CHUNK = 200;
const REAP_MAX = 200;

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
  MachineInUse = -15,
  BorrowTooLong = -16,
  TooManyBorrowed = -17,
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
  [Code.BorrowTooLong]: 'BORROW_NOT_ALLOWED',
  [Code.TooManyBorrowed]: 'TOO_MANY_BORROWED',
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
    terms.maxBorrowMs,
    terms.maxBorrowedSeats ?? -1,
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
          ids?.borrowMs ?? '',
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
        borrowed: r[11] === 1,
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
        borrowed: r[8] === 1,
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
      return { ...count(licenseId, r[0], r[1], r[2]), queued: Number(r[3]), borrowed: Number(r[4]) };
    },

    async reap(licenseId, sessionIds) {
      const sessions: ReapedSession[] = [];
      let seats: SeatCount | undefined;
      // lua/reap.lua looks at REAP_MAX ids a call; the count is the last call's.
      for (let i = 0; i === 0 || i < sessionIds.length; i += REAP_MAX) {
        const r = await runScript(redis, 'reap', seatKeys(licenseId), [licenseId, ...sessionIds.slice(i, i + REAP_MAX)]);
        if (r.length === 1) return undefined;
        for (let j = 3; j < r.length; j += 3) {
          const state = Number(r[j + 1]);
          sessions.push({
            sessionId: String(r[j]),
            state: state === 1 ? 'removed' : state === 0 ? 'held' : 'missing',
            expiresAtMs: Number(r[j + 2]),
          });
        }
        seats = count(licenseId, r[1], r[2], r[0]);
      }
      return { sessions, seats: seats! };
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

    async deactivate(licenseId, fingerprint, force): Promise<DeactivateOutcome> {
      const r = await runScript(redis, 'deactivate', seatKeys(licenseId), [licenseId, fingerprint, force ? 1 : 0]);
      const code = Number(r[0]);
      if (code === Code.Unloaded) return { kind: 'unloaded' };
      if (code === Code.MachineInUse) return { kind: 'in-use', liveSessions: Number(r[1]) };
      return { kind: 'deactivated', seats: count(licenseId, r[1], r[2], r[3]), endedSessionIds: r.slice(4).map(String) };
    },

    async load(licenseId, terms, sessions, machines, lingering = [], tickets = []) {
      // In chunks of LOAD_CHUNK entries, open sessions first (lua/load.lua): each call stays short.
      type Chunk = { sessions: LoadedSession[]; lingering: LingeringSeat[]; tickets: LoadedTicket[]; firstPlace: number; machines: string[] };
      const none: Chunk = { sessions: [], lingering: [], tickets: [], firstPlace: 1, machines: [] };
      const chunks: Chunk[] = [];
      for (let i = 0; i < sessions.length; i += LOAD_CHUNK) chunks.push({ ...none, sessions: sessions.slice(i, i + LOAD_CHUNK) });
      for (let i = 0; i < lingering.length; i += LOAD_CHUNK) chunks.push({ ...none, lingering: lingering.slice(i, i + LOAD_CHUNK) });
      for (let i = 0; i < tickets.length; i += LOAD_CHUNK) chunks.push({ ...none, tickets: tickets.slice(i, i + LOAD_CHUNK), firstPlace: i + 1 });
      for (let i = 0; i < machines.length; i += LOAD_CHUNK) chunks.push({ ...none, machines: machines.slice(i, i + LOAD_CHUNK) });
      if (chunks.length === 0) chunks.push(none);
      for (const [index, chunk] of chunks.entries()) {
        const args: (string | number)[] = [licenseId, ...termsArgs(terms), index === chunks.length - 1 ? 1 : 0, chunk.sessions.length];
        for (const s of chunk.sessions) {
          args.push(s.sessionId, s.fingerprint, s.expiresAtMs, s.overage ? 1 : 0, s.userId ?? '', s.processId ?? '', s.borrowed ? 1 : 0);
        }
        args.push(chunk.lingering.length);
        for (const s of chunk.lingering) args.push(s.sessionId, s.fingerprint, s.userId ?? '', s.processId ?? '', s.untilMs);
        args.push(chunk.tickets.length);
        for (const [i, t] of chunk.tickets.entries()) args.push(chunk.firstPlace + i, t.ticketId, t.fingerprint, t.userId ?? '', t.processId ?? '');
        args.push(...chunk.machines);
        // Another instance finished the load first: the rest of ours would change nothing.
        if (Number((await runScript(redis, 'load', seatKeys(licenseId), args))[0]) === 0) return;
      }
    },

    async configure(licenseId, terms) {
      const r = await runScript(redis, 'configure', seatKeys(licenseId), [licenseId, ...termsArgs(terms)]);
      return Number(r[0]) === 1 ? { seats: count(licenseId, r[1], r[2], r[3]) } : undefined;
    },

    async ping() {
      await redis.ping();
    },

    async close() {
      redis.disconnect();
    },
  };
}
