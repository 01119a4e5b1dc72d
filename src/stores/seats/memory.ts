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
  queueChannel,
  type AcquireRefusal,
  type QueueStatus,
  type QueueTicket,
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
  /** session ids of borrowed leases -> borrow end ms */
  borrowed: Map<string, number>;
  /** PER_USER seats: user id (or NUL + session id for a lease without a user) -> expiry of its last lease */
  userSeats: Map<string, number>;
  /** released seats held for their seat holder -> until ms */
  lingering: Map<string, number>;
  /** every ticket known, open or ended (kept TICKET_KEPT_MS) */
  tickets: Map<string, MemoryTicket>;
  /** waiting ticket ids, first in line first (a Map keeps insertion order) */
  line: Set<string>;
  /** ticket id -> claim deadline of the seat set aside for it */
  ready: Map<string, number>;
  /** holder key -> open ticket id */
  ticketOf: Map<string, string>;
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

/** As lua/lib/queue.lua: an ended ticket's status is kept this long; one call settles at most QUEUE_STEP_MAX tickets. */
const TICKET_KEPT_MS = 600_000;
const QUEUE_STEP_MAX = 100;

interface MemoryTicket {
  status: QueueStatus;
  fingerprint: string;
  userId: string;
  processId: string;
  holderKey: string;
  /** open: when it lapses; ended: when it is forgotten */
  until: number;
}

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
  const used = (l: LicenseSeats, now: number) =>
    liveIn(seatExpiries(l), now) + liveIn(l.lingering.values(), now) + liveIn(l.ready.values(), now);
  const endTicket = (l: LicenseSeats, ticketId: string, status: QueueStatus, now: number) => {
    const ticket = l.tickets.get(ticketId)!;
    l.line.delete(ticketId);
    l.ready.delete(ticketId);
    if (l.ticketOf.get(ticket.holderKey) === ticketId) l.ticketOf.delete(ticket.holderKey);
    ticket.status = status;
    ticket.until = now + TICKET_KEPT_MS;
  };
  /** A ticket, ended first as EXPIRED if it is still WAITING past its expiry, as currentTicket in lua/lib/queue.lua. */
  const currentTicket = (l: LicenseSeats, ticketId: string, now: number) => {
    const ticket = l.tickets.get(ticketId);
    if (ticket?.status === 'WAITING' && ticket.until <= now) endTicket(l, ticketId, 'EXPIRED', now);
    return ticket;
  };
  const publishQueue = (licenseId: string, now: number) => void pubsub.publish(queueChannel(licenseId), String(now));
  const publish = (licenseId: string, l: LicenseSeats, now: number) =>
    void pubsub.publish(seatChannel(licenseId), `${used(l, now)}:${l.terms.maxSeats}:${now}`);
  /** As announceLine in lua/lib/queue.lua: the line is part of the count (queued). */
  const announceLine = (licenseId: string, l: LicenseSeats, now: number) => {
    publishQueue(licenseId, now);
    publish(licenseId, l, now);
  };
  /** As settleQueue in lua/lib/queue.lua. */
  const settleQueue = (licenseId: string, l: LicenseSeats, now: number) => {
    let changed = false;
    let steps = 0;
    for (const [ticketId, deadline] of l.ready) {
      if (steps >= QUEUE_STEP_MAX) break;
      if (deadline > now) continue;
      endTicket(l, ticketId, 'EXPIRED', now);
      changed = true;
      steps++;
    }
    const bound = seatBound(l.terms);
    for (const head of l.line) {
      if (steps >= QUEUE_STEP_MAX || (bound !== null && used(l, now) >= bound)) break;
      steps++;
      changed = true;
      const ticket = l.tickets.get(head)!;
      if (ticket.until <= now) endTicket(l, head, 'EXPIRED', now);
      else {
        l.line.delete(head);
        l.ready.set(head, now + l.terms.queue.claimMs);
        ticket.status = 'READY';
        ticket.until = now + l.terms.queue.claimMs;
      }
    }
    for (const [ticketId, ticket] of l.tickets) {
      const ended = ticket.status !== 'WAITING' && ticket.status !== 'READY';
      if (ended && ticket.until <= now) l.tickets.delete(ticketId);
    }
    if (changed) announceLine(licenseId, l, now);
  };
  const ticketView = (licenseId: string, l: LicenseSeats, ticketId: string): QueueTicket => {
    const ticket = l.tickets.get(ticketId)!;
    const open = ticket.status === 'WAITING' || ticket.status === 'READY';
    return {
      ticketId,
      licenseId,
      status: ticket.status,
      position: ticket.status === 'WAITING' ? [...l.line].indexOf(ticketId) + 1 : 0,
      expiresAtMs: open ? ticket.until : 0,
      fingerprint: ticket.fingerprint,
      userId: ticket.userId || null,
      processId: ticket.processId || null,
    };
  };
  const dropLapsedLinger = (l: LicenseSeats, now: number) => {
    for (const [member, until] of l.lingering) if (until <= now) l.lingering.delete(member);
  };
  const seats = (licenseId: string, l: LicenseSeats, now: number): SeatCount => ({
    licenseId,
    used: used(l, now),
    max: l.terms.maxSeats,
    changedAt: new Date(now),
  });
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
    l.borrowed.delete(sessionId);
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
      settleQueue(licenseId, l, now);
      const refused = refusal(l.terms, now);
      if (refused) return refuse(refused);
      const borrowMs = ids?.borrowMs;
      if (borrowMs !== undefined && borrowMs > l.terms.maxBorrowMs) return refuse('BORROW_NOT_ALLOWED', l.terms.maxBorrowMs);
      const maxBorrowed = l.terms.maxBorrowedSeats;
      const borrowsFull = () => maxBorrowed !== null && liveIn(l.borrowed.values(), now) >= maxBorrowed;
      const strategy = l.terms.leasingStrategy;
      let userId = ids?.userId ?? '';
      let processId = ids?.processId ?? '';
      let claimed = ids?.claimTicketId;
      if (claimed) {
        const ticket = currentTicket(l, claimed, now);
        if (!ticket) return refuse('TICKET_NOT_FOUND');
        if (ticket.status === 'WAITING') return { kind: 'queued', ticket: ticketView(licenseId, l, claimed), seats: seats(licenseId, l, now), rate };
        if (ticket.status !== 'READY') return refuse('TICKET_ENDED');
        ({ fingerprint, userId, processId } = ticket);
      }
      if (strategy === 'PER_USER' && userId === '') return refuse('USER_ID_REQUIRED');
      if (strategy === 'PER_PROCESS' && processId === '') return refuse('PROCESS_ID_REQUIRED');
      const holder = holderOf(strategy, fingerprint, userId, processId);
      const holderKey = holder?.key ?? fingerprint;
      if (!claimed) {
        const open = l.ticketOf.get(holderKey);
        if (open !== undefined && l.tickets.get(open)?.status === 'READY') claimed = open;
      }

      // As lua/acquire.lua: a borrow never outlives the license, and a plain acquire never cuts one short.
      let expiresAtMs = now + (borrowMs ?? l.terms.leaseMs);
      const licenseEnd = l.terms.expiresAtMs;
      if (borrowMs !== undefined && licenseEnd !== null && licenseEnd < expiresAtMs) expiresAtMs = licenseEnd;
      const held = l.sessionByHolder.get(holder?.key ?? fingerprint);
      if (held !== undefined && (l.leases.get(held) ?? 0) > now) {
        const borrowedUntil = l.borrowed.get(held) ?? 0;
        let borrowing = borrowedUntil > now;
        if (borrowMs !== undefined) {
          if (!borrowing && borrowsFull()) return refuse('TOO_MANY_BORROWED', maxBorrowed!);
          expiresAtMs = Math.max(expiresAtMs, borrowedUntil);
          l.borrowed.set(held, expiresAtMs);
          borrowing = true;
        } else if (borrowing) expiresAtMs = borrowedUntil;
        l.leases.set(held, expiresAtMs);
        if (strategy === 'PER_USER') extendUserSeat(l, userId, expiresAtMs);
        return {
          rate,
          kind: 'granted',
          sessionId: held,
          renewed: true,
          newMachine: false,
          overage: l.overage.has(held),
          borrowed: borrowing,
          expiresAtMs,
          nowMs: now,
          seats: seats(licenseId, l, now),
          terms: leaseTerms(l.terms),
        };
      }
      if (borrowMs !== undefined && borrowsFull()) return refuse('TOO_MANY_BORROWED', maxBorrowed!);
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
      let takesSeat = !(strategy === 'PER_USER' && userSeatLive(l, userId, now));
      if (claimed) {
        // The seat set aside for this holder's ticket becomes its lease.
        endTicket(l, claimed, 'CLAIMED', now);
        publishQueue(licenseId, now);
        takesSeat = false;
      } else if (l.lingering.delete(lingerOf(strategy, holder, fingerprint, sessionId))) takesSeat = false;
      if (takesSeat && !hasRoom(l, now)) {
        const queue = l.terms.queue;
        if (!ids?.queueTicketId || !queue.enabled) return refuse('NO_SEATS');
        let open = l.ticketOf.get(holderKey);
        if (open !== undefined && currentTicket(l, open, now)?.status !== 'WAITING') open = undefined;
        if (open === undefined) {
          if (l.line.size >= queue.maxLength) return refuse('NO_SEATS');
          open = ids.queueTicketId;
          l.tickets.set(open, { status: 'WAITING', fingerprint, userId, processId, holderKey, until: now + queue.claimMs });
          l.line.add(open);
          l.ticketOf.set(holderKey, open);
          announceLine(licenseId, l, now);
        }
        return { kind: 'queued', ticket: ticketView(licenseId, l, open), seats: seats(licenseId, l, now), rate };
      }
      const overage = takesSeat && used(l, now) >= l.terms.maxSeats;
      if (overage) l.overage.add(sessionId);
      l.machines.add(fingerprint);
      l.leases.set(sessionId, expiresAtMs);
      if (borrowMs !== undefined) l.borrowed.set(sessionId, expiresAtMs);
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
        borrowed: borrowMs !== undefined,
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
      const borrowedUntil = l.borrowed.get(sessionId) ?? 0;
      if (borrowedUntil > now) {
        // A borrowed lease needs no heartbeat: it is left to its borrow's end.
        return { kind: 'renewed', revived: false, fingerprint, overage: l.overage.has(sessionId), borrowed: true, expiresAtMs: borrowedUntil, nowMs: now, terms: leaseTerms(l.terms), rate };
      }
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
      return { kind: 'renewed', revived, fingerprint, overage: l.overage.has(sessionId), borrowed: false, expiresAtMs, nowMs: now, terms: leaseTerms(l.terms), rate };
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
      // A freed seat goes to the first in line at once.
      settleQueue(licenseId, l, now);
      if (used(l, now) !== usedBefore) publish(licenseId, l, now);
      return { kind: 'released', state, leaseExpiresAtMs: expiry ?? null, seats: seats(licenseId, l, now), rate };
    },

    async ticket(licenseId, ticketId, action) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const now = clock();
      settleQueue(licenseId, l, now);
      const ticket = currentTicket(l, ticketId, now);
      if (!ticket) return { kind: 'ticket', ticket: null, nowMs: now };
      if (action === 'heartbeat' && ticket.status === 'WAITING') ticket.until = now + l.terms.queue.claimMs;
      if (action === 'leave' && (ticket.status === 'WAITING' || ticket.status === 'READY')) {
        endTicket(l, ticketId, 'LEFT', now);
        settleQueue(licenseId, l, now);
        announceLine(licenseId, l, now);
      }
      return { kind: 'ticket', ticket: ticketView(licenseId, l, ticketId), nowMs: now };
    },

    async count(licenseId) {
      const l = licenses.get(licenseId);
      if (!l) return undefined;
      const now = clock();
      return { ...seats(licenseId, l, now), queued: l.line.size, borrowed: liveIn(l.borrowed.values(), now) };
    },

    async reap(licenseId, sessionIds) {
      const l = licenses.get(licenseId);
      if (!l) return undefined;
      const now = clock();
      let expiredSinceLastReap = false;
      for (const expiries of [seatExpiries(l), l.lingering.values(), l.ready.values()]) {
        for (const expiry of expiries) if (expiry > l.reapedAt && expiry <= now) expiredSinceLastReap = true;
      }
      l.reapedAt = now;
      dropLapsedLinger(l, now);
      const sessions: ReapedSession[] = sessionIds.map((sessionId) => {
        const expiry = l.leases.get(sessionId);
        if (expiry === undefined) return { sessionId, state: 'missing', expiresAtMs: 0 };
        if (expiry > now - l.terms.reviveMs) return { sessionId, state: 'held', expiresAtMs: expiry };
        forgetSession(l, sessionId);
        return { sessionId, state: 'removed', expiresAtMs: expiry };
      });
      // Seats freed by expiry go to the first in line.
      settleQueue(licenseId, l, now);
      if (expiredSinceLastReap) publish(licenseId, l, now);
      return { sessions, seats: seats(licenseId, l, now) };
    },

    async activate(licenseId, fingerprint, forget, spec) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const now = clock();
      if (forget) {
        if (![...l.fingerprintBySession.values()].includes(fingerprint)) l.machines.delete(fingerprint);
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

    async deactivate(licenseId, fingerprint, force) {
      const l = licenses.get(licenseId);
      if (!l) return { kind: 'unloaded' };
      const now = clock();
      const onMachine = [...l.fingerprintBySession].filter(([, machine]) => machine === fingerprint).map(([sessionId]) => sessionId);
      const live = onMachine.filter((sessionId) => (l.leases.get(sessionId) ?? 0) > now);
      if (live.length > 0 && !force) return { kind: 'in-use', liveSessions: live.length };
      dropLapsedLinger(l, now);
      const usedBefore = used(l, now);
      for (const sessionId of onMachine) forgetSession(l, sessionId);
      // As lua/deactivate.lua: the machine's lingering seat is given up too.
      l.lingering.delete(fingerprint);
      l.machines.delete(fingerprint);
      settleQueue(licenseId, l, now);
      if (used(l, now) !== usedBefore) publish(licenseId, l, now);
      return { kind: 'deactivated', endedSessionIds: live, seats: seats(licenseId, l, now) };
    },

    async load(licenseId, terms, sessions, machines, lingering = [], tickets = []) {
      if (licenses.has(licenseId)) return;
      const l: LicenseSeats = {
        terms,
        leases: new Map(),
        machines: new Set(machines),
        sessionByHolder: new Map(),
        fingerprintBySession: new Map(),
        holderBySession: new Map(),
        overage: new Set(),
        borrowed: new Map(),
        userSeats: new Map(),
        lingering: new Map(),
        tickets: new Map(),
        line: new Set(),
        ready: new Map(),
        ticketOf: new Map(),
        reapedAt: clock(),
      };
      for (const s of sessions) {
        l.leases.set(s.sessionId, s.expiresAtMs);
        const holder = holderOf(terms.leasingStrategy, s.fingerprint, s.userId ?? '', s.processId ?? '');
        addHolder(l, holder, s.sessionId, s.fingerprint);
        if (s.overage) l.overage.add(s.sessionId);
        if (s.borrowed) l.borrowed.set(s.sessionId, s.expiresAtMs);
        if (terms.leasingStrategy === 'PER_USER') extendUserSeat(l, userSeatOf(holder, s.sessionId), s.expiresAtMs);
      }
      for (const seat of lingering) {
        const holder = holderOf(terms.leasingStrategy, seat.fingerprint, seat.userId ?? '', seat.processId ?? '');
        const member = lingerOf(terms.leasingStrategy, holder, seat.fingerprint, seat.sessionId);
        // A holder with an open session resumed its seat already; one released twice lingers once.
        const holds = terms.leasingStrategy === 'PER_USER' ? l.userSeats.has(member) : l.sessionByHolder.has(member);
        if (!holds) l.lingering.set(member, Math.max(l.lingering.get(member) ?? 0, seat.untilMs));
      }
      // As lua/load.lua: each ticket waits again for a claim period, in the order given.
      const now = clock();
      for (const t of tickets) {
        const holderKey = holderOf(terms.leasingStrategy, t.fingerprint, t.userId ?? '', t.processId ?? '')?.key ?? t.fingerprint;
        const until = now + terms.queue.claimMs;
        l.tickets.set(t.ticketId, { status: 'WAITING', fingerprint: t.fingerprint, userId: t.userId ?? '', processId: t.processId ?? '', holderKey, until });
        l.line.add(t.ticketId);
        l.ticketOf.set(holderKey, t.ticketId);
      }
      licenses.set(licenseId, l);
      settleQueue(licenseId, l, now);
      publish(licenseId, l, now);
    },

    async configure(licenseId, terms) {
      const l = licenses.get(licenseId);
      if (!l) return undefined;
      const now = clock();
      const usedBefore = used(l, now);
      const maxChanged = l.terms.maxSeats !== terms.maxSeats;
      const strategyChanged = l.terms.leasingStrategy !== terms.leasingStrategy;
      l.terms = terms;
      if (terms.status !== 'ACTIVE') {
        l.leases.clear();
        l.sessionByHolder.clear();
        l.fingerprintBySession.clear();
        l.holderBySession.clear();
        l.overage.clear();
        l.borrowed.clear();
        l.userSeats.clear();
        l.lingering.clear();
        // Open tickets end too (their holders learn it as EXPIRED).
        for (const [ticketId, ticket] of l.tickets) if (ticket.status === 'WAITING' || ticket.status === 'READY') endTicket(l, ticketId, 'EXPIRED', now);
        announceLine(licenseId, l, now);
      } else if (strategyChanged) {
        l.userSeats.clear();
        if (terms.leasingStrategy === 'PER_USER') rebuildUserSeats(l, now);
      }
      // A raised limit gives its new seats to the first in line.
      settleQueue(licenseId, l, now);
      if (maxChanged || used(l, now) !== usedBefore) publish(licenseId, l, now);
      return { seats: seats(licenseId, l, now) };
    },

    async ping() {},
    async close() {
      licenses.clear();
    },
  };
}
