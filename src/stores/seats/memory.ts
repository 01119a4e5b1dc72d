/**
 * The seat store of the embedded mode: the contract of lua/*.lua kept in process memory, for
 * one instance. Each method runs to completion without awaiting, so it is as atomic as a script.
 */
import { createTokenBuckets, type TokenBuckets } from '../rateLimits/memory.ts';
import type { PubSub } from '../pubsub/contract.ts';
import { licenseBucket, type BucketSpec } from '../rateLimits/contract.ts';
import { seatChannel, type LeaseTerms, type LicenseTerms, type ReapedSession, type SeatCount, type SeatStore } from './contract.ts';

interface LicenseSeats {
  terms: LicenseTerms;
  /** session id -> expiry ms */
  leases: Map<string, number>;
  machines: Set<string>;
  sessionByFingerprint: Map<string, string>;
  fingerprintBySession: Map<string, string>;
  reapedAt: number;
}

export function createMemorySeatStore(pubsub: PubSub, buckets: TokenBuckets = createTokenBuckets(), clock = Date.now): SeatStore {
  const licenses = new Map<string, LicenseSeats>();

  /** The license's token, taken first as the scripts do; undefined when no spec was given. */
  const takeToken = (licenseId: string, spec: BucketSpec | undefined) => spec && buckets.take(licenseBucket(licenseId), spec);

  const used = (l: LicenseSeats, now: number) => {
    let n = 0;
    for (const expiry of l.leases.values()) if (expiry > now) n++;
    return n;
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
  const forgetSession = (l: LicenseSeats, sessionId: string) => {
    l.leases.delete(sessionId);
    const fingerprint = l.fingerprintBySession.get(sessionId);
    l.fingerprintBySession.delete(sessionId);
    if (fingerprint !== undefined && l.sessionByFingerprint.get(fingerprint) === sessionId) l.sessionByFingerprint.delete(fingerprint);
    return fingerprint;
  };

  return {
    kind: 'memory',

    async acquire(licenseId, sessionId, fingerprint, spec) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const rate = takeToken(licenseId, spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const now = clock();
      const refused = refusal(l.terms, now);
      if (refused) return { kind: 'refused', reason: refused, seats: seats(licenseId, l, now), rate };
      const expiresAtMs = now + l.terms.leaseMs;
      const held = l.sessionByFingerprint.get(fingerprint);
      if (held !== undefined && (l.leases.get(held) ?? 0) > now) {
        l.leases.set(held, expiresAtMs);
        return {
          rate,
          kind: 'granted',
          sessionId: held,
          renewed: true,
          newMachine: false,
          expiresAtMs,
          nowMs: now,
          seats: seats(licenseId, l, now),
          terms: leaseTerms(l.terms),
        };
      }
      const newMachine = !l.machines.has(fingerprint);
      if (newMachine && l.terms.maxMachines !== null && l.machines.size >= l.terms.maxMachines) {
        return { kind: 'refused', reason: 'TOO_MANY_MACHINES', seats: seats(licenseId, l, now), rate };
      }
      if (used(l, now) >= l.terms.maxSeats) return { kind: 'refused', reason: 'NO_SEATS', seats: seats(licenseId, l, now), rate };
      l.machines.add(fingerprint);
      l.leases.set(sessionId, expiresAtMs);
      l.sessionByFingerprint.set(fingerprint, sessionId);
      l.fingerprintBySession.set(sessionId, fingerprint);
      publish(licenseId, l, now);
      return {
        rate,
        kind: 'granted',
        sessionId,
        renewed: false,
        newMachine,
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
      let revived = false;
      if (expiry <= now) {
        const revivable =
          now - expiry <= l.terms.reviveMs && l.sessionByFingerprint.get(fingerprint) === sessionId && used(l, now) < l.terms.maxSeats;
        if (!revivable) return { kind: 'lapsed', reason: 'expired', rate };
        revived = true;
      }
      const expiresAtMs = now + l.terms.leaseMs;
      l.leases.set(sessionId, expiresAtMs);
      if (revived) publish(licenseId, l, now);
      return { kind: 'renewed', revived, fingerprint, expiresAtMs, nowMs: now, terms: leaseTerms(l.terms), rate };
    },

    async release(licenseId, sessionId, forgetMachine, spec) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const rate = takeToken(licenseId, spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const now = clock();
      const expiry = l.leases.get(sessionId);
      const fingerprint = forgetSession(l, sessionId);
      if (forgetMachine && fingerprint !== undefined) l.machines.delete(fingerprint);
      const state = expiry === undefined ? 'unknown' : expiry > now ? 'released' : 'already-expired';
      if (state === 'released') publish(licenseId, l, now);
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
      for (const expiry of l.leases.values()) if (expiry > l.reapedAt && expiry <= now) expiredSinceLastReap = true;
      l.reapedAt = now;
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

    async activate(licenseId, fingerprint, forget, spec) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const now = clock();
      if (forget) {
        if (!l.sessionByFingerprint.has(fingerprint)) l.machines.delete(fingerprint);
        return { kind: 'activated', newMachine: false, nowMs: now };
      }
      const rate = takeToken(licenseId, spec);
      if (rate && !rate.allowed) return { kind: 'rate-limited', rate };
      const refused = refusal(l.terms, now);
      if (refused) return { kind: 'refused', reason: refused, rate };
      if (l.machines.has(fingerprint)) return { kind: 'activated', newMachine: false, nowMs: now, rate };
      if (l.terms.maxMachines !== null && l.machines.size >= l.terms.maxMachines) return { kind: 'refused', reason: 'TOO_MANY_MACHINES', rate };
      l.machines.add(fingerprint);
      return { kind: 'activated', newMachine: true, nowMs: now, rate };
    },

    async load(licenseId, terms, sessions, machines) {
      if (licenses.has(licenseId)) return;
      const l: LicenseSeats = {
        terms,
        leases: new Map(),
        machines: new Set(machines),
        sessionByFingerprint: new Map(),
        fingerprintBySession: new Map(),
        reapedAt: clock(),
      };
      for (const s of sessions) {
        l.leases.set(s.sessionId, s.expiresAtMs);
        l.sessionByFingerprint.set(s.fingerprint, s.sessionId);
        l.fingerprintBySession.set(s.sessionId, s.fingerprint);
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
      l.terms = terms;
      const endedSessionIds: string[] = [];
      if (terms.status !== 'ACTIVE') {
        for (const [sessionId, expiry] of l.leases) if (expiry > now) endedSessionIds.push(sessionId);
        l.leases.clear();
        l.sessionByFingerprint.clear();
        l.fingerprintBySession.clear();
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
