/**
 * The seat store of the embedded mode: the contract of lua/*.lua kept in process memory, for
 * one instance. Each method runs to completion without awaiting, so it is as atomic as a script.
 * Holders and user seats follow lua/lib/holders.lua.
 */
import { createTokenBuckets, type TokenBuckets } from '../rateLimits/memory.ts';
import type { PubSub } from '../pubsub/contract.ts';
import { licenseBucket, type BucketSpec } from '../rateLimits/contract.ts';
import {
  seatBound,
  seatChannel,
  type AcquireRefusal,
  type LeaseTerms,
  type LeasingStrategy,
  type LicenseTerms,
  type ReapedSession,
  type SeatCount,
  type SeatStore,
} from './contract.ts';

interface LicenseSeats {
  terms: LicenseTerms;
  /** session id -> expiry ms */
  leases: Map<string, number>;
  machines: Set<string>;
  sessionByHolder: Map<string, string>;
  fingerprintBySession: Map<string, string>;
  /** session id -> holder, for holders other than a bare fingerprint */
  holderBySession: Map<string, Holder>;
  /** session ids of overage leases */
  overage: Set<string>;
  /** PER_USER seats: user id (or NUL + session id for a lease without a user) -> expiry of its last lease */
  userSeats: Map<string, number>;
  /** released seats held for their seat holder -> until ms */
  lingering: Map<string, number>;
  reapedAt: number;
}

/** A holder other than a bare fingerprint: its key, its group (a machine's processes, a user's sessions) and its user. */
interface Holder {
  key: string;
  group: string;
  userId: string | null;
}

function holderOf(strategy: LeasingStrategy, fingerprint: string, userId: string, processId: string): Holder | undefined {
  if (strategy === 'PER_PROCESS' && processId !== '') {
    return { key: `p\0${fingerprint}\0${processId}`, group: `p\0${fingerprint}`, userId: null };
  }
  if (strategy === 'PER_USER' && userId !== '') return { key: `u\0${userId}\0${fingerprint}`, group: `u\0${userId}`, userId };
  return undefined;
}

const userSeatOf = (holder: Holder | undefined, sessionId: string) => holder?.userId ?? `\0${sessionId}`;

/** What a released seat lingers as: its holder, or under PER_USER its user. */
const lingerOf = (strategy: LeasingStrategy, holder: Holder | undefined, fingerprint: string, sessionId: string) =>
  strategy === 'PER_USER' ? userSeatOf(holder, sessionId) : (holder?.key ?? fingerprint);

export function createMemorySeatStore(pubsub: PubSub, buckets: TokenBuckets = createTokenBuckets(), clock = Date.now): SeatStore {
  const licenses = new Map<string, LicenseSeats>();

  /** The license's token, taken first as the scripts do; undefined when no spec was given. */
  const takeToken = (licenseId: string, spec: BucketSpec | undefined) => spec && buckets.take(licenseBucket(licenseId), spec);

  const liveIn = (expiries: Iterable<number>, now: number) => {
    let n = 0;
    for (const expiry of expiries) if (expiry > now) n++;
    return n;
  };
  /** The seats' expiries: leases, or under PER_USER users. */
  const seatExpiries = (l: LicenseSeats) => (l.terms.leasingStrategy === 'PER_USER' ? l.userSeats : l.leases).values();
  const used = (l: LicenseSeats, now: number) => liveIn(seatExpiries(l), now) + liveIn(l.lingering.values(), now);
  const dropLapsedLinger = (l: LicenseSeats, now: number) => {
    for (const [member, until] of l.lingering) if (until <= now) l.lingering.delete(member);
  };
  const seats = (licenseId: string, l: LicenseSeats, now: number): SeatCount => ({
    licenseId,
    used: used(l, now),
    max: l.terms.maxSeats,
    changedAt: new Date(now),
  });
  const publish = (licenseId: string, l: LicenseSeats, now: number) =>
    void pubsub.publish(seatChannel(licenseId), `${used(l, now)}:${l.terms.maxSeats}:${now}`);
  const leaseTerms = (t: LicenseTerms): LeaseTerms => ({ tier: t.tier, features: t.features, licenseExpiresAtMs: t.expiresAtMs });
  const refusal = (t: LicenseTerms, now: number) =>
    t.status === 'SUSPENDED'
      ? 'SUSPENDED'
      : t.status === 'REVOKED'
        ? 'REVOKED'
        : t.expiresAtMs !== null && t.expiresAtMs <= now
          ? 'EXPIRED'
          : undefined;
  /** Room for one more seat under the license's seat bound (maxSeats, or more with overage). */
  const hasRoom = (l: LicenseSeats, now: number) => {
    const bound = seatBound(l.terms);
    return bound === null || used(l, now) < bound;
  };
  /** The lease expiries of a group's sessions. */
  const groupExpiries = (l: LicenseSeats, group: string) => {
    const expiries: number[] = [];
    for (const [sessionId, holder] of l.holderBySession) if (holder.group === group) expiries.push(l.leases.get(sessionId) ?? 0);
    return expiries;
  };
  const userSeatLive = (l: LicenseSeats, seat: string, now: number) => (l.userSeats.get(seat) ?? 0) > now;
  const extendUserSeat = (l: LicenseSeats, seat: string, expiry: number) =>
    l.userSeats.set(seat, Math.max(l.userSeats.get(seat) ?? 0, expiry));
  const addHolder = (l: LicenseSeats, holder: Holder | undefined, sessionId: string, fingerprint: string) => {
    l.sessionByHolder.set(holder?.key ?? fingerprint, sessionId);
    l.fingerprintBySession.set(sessionId, fingerprint);
    if (holder) l.holderBySession.set(sessionId, holder);
  };
  const forgetSession = (l: LicenseSeats, sessionId: string) => {
    l.leases.delete(sessionId);
    l.overage.delete(sessionId);
    const fingerprint = l.fingerprintBySession.get(sessionId);
    const holder = l.holderBySession.get(sessionId);
    const key = holder?.key ?? fingerprint;
    l.fingerprintBySession.delete(sessionId);
    l.holderBySession.delete(sessionId);
    if (key !== undefined && l.sessionByHolder.get(key) === sessionId) l.sessionByHolder.delete(key);
    if (l.terms.leasingStrategy === 'PER_USER') {
      // The user's seat now ends with the last of its other leases.
      const seat = userSeatOf(holder, sessionId);
      const latest = holder ? Math.max(0, ...groupExpiries(l, holder.group)) : 0;
      if (latest === 0) l.userSeats.delete(seat);
      else l.userSeats.set(seat, latest);
    }
    return fingerprint;
  };
  const rebuildUserSeats = (l: LicenseSeats, now: number) => {
    l.userSeats.clear();
    for (const [sessionId, expiry] of l.leases) {
      if (expiry > now) extendUserSeat(l, userSeatOf(l.holderBySession.get(sessionId), sessionId), expiry);
    }
  };

  return {
    kind: 'memory',

    async acquire(licenseId, sessionId, fingerprint, spec, ids) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const rate = takeToken(licenseId, spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const now = clock();
      const refuse = (reason: AcquireRefusal, limit?: number) =>
        ({ kind: 'refused', reason, seats: seats(licenseId, l, now), rate, ...(limit !== undefined ? { limit } : {}) }) as const;
      dropLapsedLinger(l, now);
      const refused = refusal(l.terms, now);
      if (refused) return refuse(refused);
      const strategy = l.terms.leasingStrategy;
      const userId = ids?.userId ?? '';
      const processId = ids?.processId ?? '';
      if (strategy === 'PER_USER' && userId === '') return refuse('USER_ID_REQUIRED');
      if (strategy === 'PER_PROCESS' && processId === '') return refuse('PROCESS_ID_REQUIRED');
      const holder = holderOf(strategy, fingerprint, userId, processId);

      const expiresAtMs = now + l.terms.leaseMs;
      const held = l.sessionByHolder.get(holder?.key ?? fingerprint);
      if (held !== undefined && (l.leases.get(held) ?? 0) > now) {
        l.leases.set(held, expiresAtMs);
        if (strategy === 'PER_USER') extendUserSeat(l, userId, expiresAtMs);
        return {
          rate,
          kind: 'granted',
          sessionId: held,
          renewed: true,
          newMachine: false,
          overage: l.overage.has(held),
          expiresAtMs,
          nowMs: now,
          seats: seats(licenseId, l, now),
          terms: leaseTerms(l.terms),
        };
      }
      const newMachine = !l.machines.has(fingerprint);
      if (newMachine && l.terms.maxMachines !== null && l.machines.size >= l.terms.maxMachines) {
        return refuse('TOO_MANY_MACHINES', l.terms.maxMachines);
      }
      const maxProcesses = l.terms.maxProcessesPerMachine;
      if (strategy === 'PER_PROCESS' && maxProcesses !== null && liveIn(groupExpiries(l, holder!.group), now) >= maxProcesses) {
        return refuse('TOO_MANY_PROCESSES', maxProcesses);
      }
      // Under PER_USER a user whose seat is live adds a machine without taking a seat; a lingering
      // seat of this holder is resumed rather than a new one taken.
      const resumes = l.lingering.delete(lingerOf(strategy, holder, fingerprint, sessionId));
      const takesSeat = !resumes && !(strategy === 'PER_USER' && userSeatLive(l, userId, now));
      if (takesSeat && !hasRoom(l, now)) return refuse('NO_SEATS');
      const overage = takesSeat && used(l, now) >= l.terms.maxSeats;
      if (overage) l.overage.add(sessionId);
      l.machines.add(fingerprint);
      l.leases.set(sessionId, expiresAtMs);
      addHolder(l, holder, sessionId, fingerprint);
      if (strategy === 'PER_USER') extendUserSeat(l, userId, expiresAtMs);
      if (takesSeat) publish(licenseId, l, now);
      return {
        rate,
        kind: 'granted',
        sessionId,
        renewed: false,
        newMachine,
        overage,
        expiresAtMs,
        nowMs: now,
        seats: seats(licenseId, l, now),
        terms: leaseTerms(l.terms),
      };
    },

    async heartbeat(licenseId, sessionId, spec) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const rate = takeToken(licenseId, spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const now = clock();
      const refused = refusal(l.terms, now);
      if (refused) return { kind: 'refused', reason: refused, rate };
      const expiry = l.leases.get(sessionId);
      if (expiry === undefined) return { kind: 'lapsed', reason: 'unknown', rate };
      const fingerprint = l.fingerprintBySession.get(sessionId) ?? '';
      const holder = l.holderBySession.get(sessionId);
      const userSeat = l.terms.leasingStrategy === 'PER_USER' ? userSeatOf(holder, sessionId) : undefined;
      const revived = expiry <= now;
      let seatTaken = false;
      if (revived) {
        const stillHolds = now - expiry <= l.terms.reviveMs && l.sessionByHolder.get(holder?.key ?? fingerprint) === sessionId;
        if (!stillHolds) return { kind: 'lapsed', reason: 'expired', rate };
        seatTaken = !(userSeat !== undefined && userSeatLive(l, userSeat, now));
        if (seatTaken && !hasRoom(l, now)) return { kind: 'lapsed', reason: 'expired', rate };
        if (seatTaken && used(l, now) >= l.terms.maxSeats) l.overage.add(sessionId);
      }
      const expiresAtMs = now + l.terms.leaseMs;
      l.leases.set(sessionId, expiresAtMs);
      if (userSeat !== undefined) extendUserSeat(l, userSeat, expiresAtMs);
      if (seatTaken) publish(licenseId, l, now);
      return { kind: 'renewed', revived, fingerprint, overage: l.overage.has(sessionId), expiresAtMs, nowMs: now, terms: leaseTerms(l.terms), rate };
    },

    async release(licenseId, sessionId, forgetMachine, spec, options) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const rate = takeToken(licenseId, spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const now = clock();
      const expiry = l.leases.get(sessionId);
      dropLapsedLinger(l, now);
      const usedBefore = used(l, now);
      const holder = l.holderBySession.get(sessionId);
      const fingerprint = forgetSession(l, sessionId);
      if (forgetMachine && fingerprint !== undefined) l.machines.delete(fingerprint);
      const state = expiry === undefined ? 'unknown' : expiry > now ? 'released' : 'already-expired';
      if (options?.linger && state === 'released' && l.terms.lingerMs > 0 && used(l, now) < usedBefore) {
        l.lingering.set(lingerOf(l.terms.leasingStrategy, holder, fingerprint!, sessionId), now + l.terms.lingerMs);
      }
      if (used(l, now) !== usedBefore) publish(licenseId, l, now);
      return { kind: 'released', state, leaseExpiresAtMs: expiry ?? null, seats: seats(licenseId, l, now), rate };
    },

    async count(licenseId) {
      const l = licenses.get(licenseId);
      return l && seats(licenseId, l, clock());
    },

    async reap(licenseId, sessionIds) {
      const l = licenses.get(licenseId);
      if (!l) return undefined;
      const now = clock();
      let expiredSinceLastReap = false;
      for (const expiries of [seatExpiries(l), l.lingering.values()]) {
        for (const expiry of expiries) if (expiry > l.reapedAt && expiry <= now) expiredSinceLastReap = true;
      }
      l.reapedAt = now;
      dropLapsedLinger(l, now);
      const reaped: ReapedSession[] = sessionIds.map((sessionId) => {
        const expiry = l.leases.get(sessionId);
        if (expiry === undefined) return { sessionId, state: 'missing', expiresAtMs: 0 };
        if (expiry > now - l.terms.reviveMs) return { sessionId, state: 'held', expiresAtMs: expiry };
        forgetSession(l, sessionId);
        return { sessionId, state: 'removed', expiresAtMs: expiry };
      });
      if (expiredSinceLastReap) publish(licenseId, l, now);
      return reaped;
    },

    async load(licenseId, terms, sessions, machines, lingering = []) {
      if (licenses.has(licenseId)) return;
      const l: LicenseSeats = {
        terms,
        leases: new Map(),
        machines: new Set(machines),
        sessionByHolder: new Map(),
        fingerprintBySession: new Map(),
        holderBySession: new Map(),
        overage: new Set(),
        userSeats: new Map(),
        lingering: new Map(),
        reapedAt: clock(),
      };
      for (const s of sessions) {
        l.leases.set(s.sessionId, s.expiresAtMs);
        const holder = holderOf(terms.leasingStrategy, s.fingerprint, s.userId ?? '', s.processId ?? '');
        addHolder(l, holder, s.sessionId, s.fingerprint);
        if (s.overage) l.overage.add(s.sessionId);
        if (terms.leasingStrategy === 'PER_USER') extendUserSeat(l, userSeatOf(holder, s.sessionId), s.expiresAtMs);
      }
      for (const seat of lingering) {
        const holder = holderOf(terms.leasingStrategy, seat.fingerprint, seat.userId ?? '', seat.processId ?? '');
        const member = lingerOf(terms.leasingStrategy, holder, seat.fingerprint, seat.sessionId);
        // A holder with an open session resumed its seat already; one released twice lingers once.
        const holds = terms.leasingStrategy === 'PER_USER' ? l.userSeats.has(member) : l.sessionByHolder.has(member);
        if (!holds) l.lingering.set(member, Math.max(l.lingering.get(member) ?? 0, seat.untilMs));
      }
      licenses.set(licenseId, l);
      publish(licenseId, l, clock());
    },

    async configure(licenseId, terms) {
      const l = licenses.get(licenseId);
      if (!l) return undefined;
      const now = clock();
      const usedBefore = used(l, now);
      const maxChanged = l.terms.maxSeats !== terms.maxSeats;
      const strategyChanged = l.terms.leasingStrategy !== terms.leasingStrategy;
      l.terms = terms;
      const endedSessionIds: string[] = [];
      if (terms.status !== 'ACTIVE') {
        for (const [sessionId, expiry] of l.leases) if (expiry > now) endedSessionIds.push(sessionId);
        l.leases.clear();
        l.sessionByHolder.clear();
        l.fingerprintBySession.clear();
        l.holderBySession.clear();
        l.overage.clear();
        l.userSeats.clear();
        l.lingering.clear();
      } else if (strategyChanged) {
        l.userSeats.clear();
        if (terms.leasingStrategy === 'PER_USER') rebuildUserSeats(l, now);
      }
      if (maxChanged || used(l, now) !== usedBefore) publish(licenseId, l, now);
      return { endedSessionIds };
    },

    async ping() {},
    async close() {
      licenses.clear();
    },
  };
}
