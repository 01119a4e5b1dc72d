/**
 * The seat store contract as one shared suite: every implementation (Redis on one node, Redis
 * Cluster, the in-process store of the embedded mode) must answer every seat question the same
 * way. A test file calls `describeSeatStoreContract` once per implementation and owns the
 * connections (it closes them in its own afterAll).
 */
import { describe, expect, it } from 'vitest';
import type { PubSub } from '../../src/stores/pubsub/contract.ts';
import { parseCountMessage, queueChannel, seatChannel, type LicenseTerms, type SeatStore } from '../../src/stores/seats/contract.ts';
import { newId } from '../../src/lib/ids.ts';
import { seatTerms } from './seatTerms.ts';

// Kept here rather than imported from harness.ts, which builds the whole app: the seat store
// suites need nothing but the store.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const terms = (overrides: Partial<LicenseTerms> = {}) => seatTerms({ features: ['export'], ...overrides });

export function describeSeatStoreContract(name: string, store: SeatStore, pubsub: PubSub): void {
  describe(`the ${name} seat store`, () => {
    async function license(overrides: Partial<LicenseTerms> = {}) {
      const id = newId('lic');
      await store.load(id, terms(overrides), [], []);
      return id;
    }
    const grant = async (licenseId: string, fingerprint: string) => {
      const outcome = await store.acquire(licenseId, newId('ses'), fingerprint);
      if (outcome.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(outcome)}`);
      return outcome;
    };

    it('answers unloaded for a license it does not hold, so the caller loads it from Postgres', async () => {
      const id = newId('lic');
      expect(await store.acquire(id, newId('ses'), 'fp')).toEqual({ kind: 'unloaded' });
      expect(await store.count(id)).toBeUndefined();
    });

    it('grants up to maxSeats and refuses the next client with the count', async () => {
      const id = await license({ maxSeats: 2 });
      await grant(id, 'a');
      const second = await grant(id, 'b');
      expect(second.seats.used).toBe(2);
      const refused = await store.acquire(id, newId('ses'), 'c');
      expect(refused).toMatchObject({ kind: 'refused', reason: 'NO_SEATS', seats: { used: 2, max: 2 } });
    });

    it('grants exactly maxSeats to 300 concurrent clients', async () => {
      const id = await license({ maxSeats: 7 });
      const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => store.acquire(id, newId('ses'), `fp-${i}`)));
      expect(outcomes.filter((o) => o.kind === 'granted')).toHaveLength(7);
      expect((await store.count(id))?.used).toBe(7);
    });

    it('renews the live lease of a returning fingerprint instead of taking a second seat', async () => {
      const id = await license();
      const first = await grant(id, 'same');
      const again = await grant(id, 'same');
      expect(again.renewed).toBe(true);
      expect(again.sessionId).toBe(first.sessionId);
      expect((await store.count(id))?.used).toBe(1);
    });

    it('holds maxMachines apart from maxSeats: a new machine is refused while a known one comes back', async () => {
      const id = await license({ maxSeats: 5, maxMachines: 2 });
      const a = await grant(id, 'm1');
      await grant(id, 'm2');
      expect(await store.acquire(id, newId('ses'), 'm3')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES' });
      await store.release(id, a.sessionId, false);
      const back = await grant(id, 'm1');
      expect(back.newMachine).toBe(false);
    });

    it('stops counting an expired lease at its expiry, with nobody removing it', async () => {
      const id = await license({ leaseMs: 300 });
      await grant(id, 'short');
      expect((await store.count(id))?.used).toBe(1);
      await sleep(350);
      expect((await store.count(id))?.used).toBe(0);
      await grant(id, 'other');
      expect((await store.count(id))?.used).toBe(1);
    });

    it('extends a live lease on heartbeat and refuses one past expiry', async () => {
      const id = await license({ leaseMs: 300 });
      const granted = await grant(id, 'hb');
      await sleep(200);
      const renewed = await store.heartbeat(id, granted.sessionId);
      expect(renewed).toMatchObject({ kind: 'renewed', revived: false, fingerprint: 'hb', terms: { tier: 'pro', features: ['export'] } });
      await sleep(200);
      expect((await store.count(id))?.used).toBe(1);
      await sleep(200);
      expect(await store.heartbeat(id, granted.sessionId)).toEqual({ kind: 'lapsed', reason: 'expired' });
      expect(await store.heartbeat(id, newId('ses'))).toEqual({ kind: 'lapsed', reason: 'unknown' });
    });

    it('revives a lapsed lease inside the revive window only while a seat is free', async () => {
      const id = await license({ leaseMs: 200, reviveMs: 5_000, maxSeats: 1 });
      const first = await grant(id, 'r1');
      await sleep(250);
      const revived = await store.heartbeat(id, first.sessionId);
      expect(revived).toMatchObject({ kind: 'renewed', revived: true });
      await sleep(250);
      await grant(id, 'r2');
      expect(await store.heartbeat(id, first.sessionId)).toEqual({ kind: 'lapsed', reason: 'expired' });
    });

    it('releases idempotently', async () => {
      const id = await license();
      const granted = await grant(id, 'rel');
      expect(await store.release(id, granted.sessionId, false)).toMatchObject({ kind: 'released', state: 'released', seats: { used: 0 } });
      expect(await store.release(id, granted.sessionId, false)).toMatchObject({ kind: 'released', state: 'unknown', seats: { used: 0 } });
    });

    it('undoes a first activation when asked to forget the machine', async () => {
      const id = await license({ maxMachines: 1 });
      const granted = await grant(id, 'undo');
      await store.release(id, granted.sessionId, true);
      expect((await grant(id, 'another')).newMachine).toBe(true);
    });

    it('activates machines without a seat under maxMachines, and acquire counts them', async () => {
      const id = await license({ maxSeats: 1, maxMachines: 2 });
      expect(await store.activate(id, 'offline-1', false)).toMatchObject({ kind: 'activated', newMachine: true });
      expect(await store.activate(id, 'offline-1', false)).toMatchObject({ kind: 'activated', newMachine: false });
      expect(await store.count(id)).toMatchObject({ used: 0 });
      expect((await grant(id, 'online')).newMachine).toBe(true);
      expect(await store.activate(id, 'offline-2', false)).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES' });
      expect(await store.acquire(id, newId('ses'), 'offline-2')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES' });
      expect(await store.activate(await license({ status: 'REVOKED' }), 'x', false)).toMatchObject({ kind: 'refused', reason: 'REVOKED' });
      expect(await store.activate(newId('lic'), 'x', false)).toEqual({ kind: 'unloaded' });
    });

    it('activates exactly maxMachines of 200 machines asking at once', async () => {
      const id = await license({ maxSeats: 1, maxMachines: 10 });
      const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => store.activate(id, `machine-${i}`, false)));
      expect(outcomes.filter((o) => o.kind === 'activated')).toHaveLength(10);
      expect(outcomes.filter((o) => o.kind === 'refused' && o.reason === 'TOO_MANY_MACHINES')).toHaveLength(190);
    });

    it('forgets an activation on undo, but not a machine that holds a lease', async () => {
      const id = await license({ maxMachines: 1 });
      await store.activate(id, 'undone', false);
      await store.activate(id, 'undone', true);
      const held = await grant(id, 'holder');
      await store.activate(id, 'holder', true);
      expect(await store.activate(id, 'third', false)).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES' });
      expect(held.newMachine).toBe(true);
    });

    it('refuses a suspended, revoked or expired license', async () => {
      expect(await store.acquire(await license({ status: 'SUSPENDED' }), newId('ses'), 'x')).toMatchObject({ reason: 'SUSPENDED' });
      expect(await store.acquire(await license({ status: 'REVOKED' }), newId('ses'), 'x')).toMatchObject({ reason: 'REVOKED' });
      expect(await store.acquire(await license({ expiresAtMs: Date.now() - 1000 }), newId('ses'), 'x')).toMatchObject({
        reason: 'EXPIRED',
      });
    });

    it('reaps expired leases once, keeps live ones, and reports sessions it never held', async () => {
      const id = await license({ leaseMs: 200 });
      const short = await grant(id, 'short');
      const unknown = newId('ses');
      await sleep(250);
      const live = await grant(id, 'live');
      const reaped = await store.reap(id, [short.sessionId, live.sessionId, unknown]);
      expect(reaped?.sessions).toEqual([
        { sessionId: short.sessionId, state: 'removed', expiresAtMs: short.expiresAtMs },
        { sessionId: live.sessionId, state: 'held', expiresAtMs: live.expiresAtMs },
        { sessionId: unknown, state: 'missing', expiresAtMs: 0 },
      ]);
      // The count the reap left: the live lease alone.
      expect(reaped?.seats).toMatchObject({ licenseId: id, used: 1, max: 3 });
      expect((await store.reap(id, [short.sessionId]))?.sessions[0]?.state).toBe('missing');
    });

    it('rebuilds a license of 50,000 open sessions, more than one script call could carry', async () => {
      const id = newId('lic');
      const expiresAtMs = Date.now() + 60_000;
      const sessions = Array.from({ length: 50_000 }, (_, i) => ({
        sessionId: `ses_load${String(i).padStart(6, '0')}`,
        fingerprint: `machine-${i}`,
        expiresAtMs,
        overage: false,
        userId: null,
        processId: null,
      }));
      await store.load(id, terms({ maxSeats: 50_000 }), sessions, sessions.map((s) => s.fingerprint), [
        { sessionId: 'ses_lingering', fingerprint: 'gone', userId: null, processId: null, untilMs: expiresAtMs },
      ]);
      expect(await store.count(id)).toMatchObject({ used: 50_001, max: 50_000 });
      expect(await store.heartbeat(id, sessions[49_999]!.sessionId)).toMatchObject({ kind: 'renewed' });
      expect(await store.acquire(id, newId('ses'), 'machine-7')).toMatchObject({ kind: 'granted', renewed: true, sessionId: sessions[7]!.sessionId });
    }, 60_000);

    it('loads once: a second load of a loaded license changes nothing', async () => {
      const id = newId('lic');
      const sessionId = newId('ses');
      await store.load(id, terms({ maxSeats: 4 }), [{ sessionId, fingerprint: 'kept', expiresAtMs: Date.now() + 60_000, overage: false, userId: null, processId: null }], ['kept']);
      await store.load(id, terms({ maxSeats: 9 }), [], []);
      expect(await store.count(id)).toMatchObject({ used: 1, max: 4 });
      expect(await store.heartbeat(id, sessionId)).toMatchObject({ kind: 'renewed', fingerprint: 'kept' });
    });

    it('applies changed terms at once', async () => {
      const id = await license({ maxSeats: 1 });
      await grant(id, 'one');
      expect(await store.configure(id, terms({ maxSeats: 2 }))).toMatchObject({ seats: { used: 1, max: 2 } });
      await grant(id, 'two');
      expect((await store.count(id))?.used).toBe(2);
      expect(await store.configure(newId('lic'), terms())).toBeUndefined();
    });

    it('ends every lease at once when a license is suspended, and grants again once it is active', async () => {
      const id = await license({ maxSeats: 3 });
      const a = await grant(id, 'one');
      const b = await grant(id, 'two');
      const suspended = await store.configure(id, terms({ maxSeats: 3, status: 'SUSPENDED' }));
      expect(suspended?.seats).toMatchObject({ licenseId: id, used: 0, max: 3 });
      expect(await store.heartbeat(id, b.sessionId)).toMatchObject({ kind: 'refused', reason: 'SUSPENDED' });
      expect((await store.count(id))?.used).toBe(0);
      expect(await store.acquire(id, newId('ses'), 'three')).toMatchObject({ kind: 'refused', reason: 'SUSPENDED' });
      expect(await store.heartbeat(id, a.sessionId)).toMatchObject({ kind: 'refused', reason: 'SUSPENDED' });
      await store.configure(id, terms({ maxSeats: 3 }));
      expect((await grant(id, 'one')).sessionId).not.toBe(a.sessionId);
    });

    it('tells when an already-expired lease ended, so its session can be closed at that time', async () => {
      const id = await license({ leaseMs: 200 });
      const granted = await grant(id, 'late');
      await sleep(250);
      expect(await store.release(id, granted.sessionId, false)).toMatchObject({
        state: 'already-expired',
        leaseExpiresAtMs: granted.expiresAtMs,
      });
      expect(await store.release(id, granted.sessionId, false)).toMatchObject({ state: 'unknown', leaseExpiresAtMs: null });
    });

    describe('borrowing', () => {
      const DAY = 86_400_000;
      const borrow = (id: string, fingerprint: string, days: number, ids: { processId?: string } = {}) =>
        store.acquire(id, newId('ses'), fingerprint, undefined, { ...ids, borrowMs: days * DAY });
      const lender = (overrides: Partial<LicenseTerms> = {}) => license({ maxSeats: 3, maxBorrowMs: 30 * DAY, ...overrides });

      it('lends a seat for the days asked, which no heartbeat shortens and which counts until it ends or is given back', async () => {
        const id = await lender();
        const before = Date.now();
        const lent = await borrow(id, 'traveller', 7);
        expect(lent).toMatchObject({ kind: 'granted', borrowed: true, renewed: false, seats: { used: 1 } });
        const until = (lent as { expiresAtMs: number }).expiresAtMs;
        expect(until).toBeGreaterThanOrEqual(before + 7 * DAY);
        expect(until).toBeLessThan(Date.now() + 7 * DAY + 1000);
        const sessionId = (lent as { sessionId: string }).sessionId;
        expect(await store.heartbeat(id, sessionId)).toMatchObject({ kind: 'renewed', expiresAtMs: until });
        expect(await store.acquire(id, newId('ses'), 'traveller')).toMatchObject({ renewed: true, borrowed: true, expiresAtMs: until });
        await store.release(id, sessionId, false);
        expect(await store.count(id)).toMatchObject({ used: 0 });
      });

      it('refuses a borrow where the license allows none, or longer than it allows, changing nothing', async () => {
        const none = await license({ maxSeats: 3 });
        expect(await borrow(none, 'a', 1)).toMatchObject({ kind: 'refused', reason: 'BORROW_NOT_ALLOWED', limit: 0 });
        const short = await lender({ maxBorrowMs: 3 * DAY });
        expect(await borrow(short, 'a', 4)).toMatchObject({ kind: 'refused', reason: 'BORROW_NOT_ALLOWED', limit: 3 * DAY });
        expect(await store.count(short)).toMatchObject({ used: 0 });
      });

      it('turns a live lease into a borrow, and never ends a borrow past the license', async () => {
        const expiresAtMs = Date.now() + 2 * DAY;
        const id = await lender({ expiresAtMs });
        const leased = await grant(id, 'desk');
        const lent = await borrow(id, 'desk', 10);
        expect(lent).toMatchObject({ kind: 'granted', renewed: true, borrowed: true, sessionId: leased.sessionId, expiresAtMs });
        expect(await store.count(id)).toMatchObject({ used: 1 });
      });

      it('lends exactly maxBorrowedSeats of 200 concurrent borrows, and the rest of the seats to acquires', async () => {
        const id = await lender({ maxSeats: 20, maxBorrowedSeats: 5 });
        const borrows = await Promise.all(Array.from({ length: 200 }, (_, i) => borrow(id, `b-${i}`, 3)));
        expect(borrows.filter((b) => b.kind === 'granted')).toHaveLength(5);
        expect(borrows.filter((b) => b.kind === 'refused' && b.reason === 'TOO_MANY_BORROWED' && b.limit === 5)).toHaveLength(195);
        const acquires = await Promise.all(Array.from({ length: 200 }, (_, i) => store.acquire(id, newId('ses'), `a-${i}`)));
        expect(acquires.filter((a) => a.kind === 'granted')).toHaveLength(15);
        expect(await store.count(id)).toMatchObject({ used: 20 });
      });

      it('counts live borrows apart, and the tickets waiting in line', async () => {
        const id = await lender({ maxSeats: 2, queue: { enabled: true, maxLength: 10, claimMs: 60_000 } });
        await borrow(id, 'away', 2);
        await grant(id, 'desk');
        await store.acquire(id, newId('ses'), 'waiting-1', undefined, { queueTicketId: newId('qtk') });
        await store.acquire(id, newId('ses'), 'waiting-2', undefined, { queueTicketId: newId('qtk') });
        expect(await store.count(id)).toMatchObject({ used: 2, max: 2, borrowed: 1, queued: 2 });
      });

      it('keeps a loaded borrow borrowed: a heartbeat after a rebuild leaves its end as it was', async () => {
        const id = newId('lic');
        const until = Date.now() + 5 * DAY;
        const sessionId = newId('ses');
        await store.load(id, terms({ maxBorrowMs: 30 * DAY, maxBorrowedSeats: 1 }), [
          { sessionId, fingerprint: 'away', expiresAtMs: until, overage: false, userId: null, processId: null, borrowed: true },
        ], ['away']);
        expect(await store.heartbeat(id, sessionId)).toMatchObject({ kind: 'renewed', expiresAtMs: until });
        expect(await borrow(id, 'another', 1)).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_BORROWED' });
      });
    });

    describe('machine deactivation', () => {
      it('refuses a machine that a live lease holds, and frees it with force: its lease ends and another machine takes its place', async () => {
        const id = await license({ maxSeats: 2, maxMachines: 1 });
        const held = await grant(id, 'old');
        expect(await store.acquire(id, newId('ses'), 'new')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES' });
        expect(await store.deactivate(id, 'old', false)).toEqual({ kind: 'in-use', liveSessions: 1 });
        expect(await store.heartbeat(id, held.sessionId)).toMatchObject({ kind: 'renewed' });

        const done = await store.deactivate(id, 'old', true);
        expect(done).toMatchObject({ kind: 'deactivated', endedSessionIds: [held.sessionId], seats: { used: 0 } });
        expect(await store.heartbeat(id, held.sessionId)).toMatchObject({ kind: 'lapsed', reason: 'unknown' });
        expect(await grant(id, 'new')).toMatchObject({ newMachine: true });
        expect(await store.acquire(id, newId('ses'), 'old')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES' });
      });

      it('frees an idle machine without force, ending nothing, and answers the same for a machine it does not know', async () => {
        const id = await license({ maxMachines: 1 });
        const held = await grant(id, 'idle');
        await store.release(id, held.sessionId, false);
        expect(await store.deactivate(id, 'idle', false)).toMatchObject({ kind: 'deactivated', endedSessionIds: [] });
        expect(await store.deactivate(id, 'never-seen', false)).toMatchObject({ kind: 'deactivated', endedSessionIds: [] });
        expect(await store.activate(id, 'next', false)).toMatchObject({ kind: 'activated', newMachine: true });
        expect(await store.deactivate(newId('lic'), 'x', false)).toEqual({ kind: 'unloaded' });
      });

      it("drops a machine's expired but revivable lease, so no heartbeat brings it back, and gives up its lingering seat", async () => {
        const id = await license({ maxSeats: 1, maxMachines: 2, leaseMs: 200, reviveMs: 60_000, lingerMs: 60_000 });
        const lapsed = await grant(id, 'sleeper');
        await sleep(250);
        expect(await store.deactivate(id, 'sleeper', false)).toMatchObject({ kind: 'deactivated', endedSessionIds: [] });
        expect(await store.heartbeat(id, lapsed.sessionId)).toMatchObject({ kind: 'lapsed', reason: 'unknown' });

        const lingering = await grant(id, 'leaver');
        await store.release(id, lingering.sessionId, false, undefined, { linger: true });
        expect(await store.count(id)).toMatchObject({ used: 1 });
        expect(await store.deactivate(id, 'leaver', false)).toMatchObject({ kind: 'deactivated', seats: { used: 0 } });
      });

      it("ends every process of a machine under PER_PROCESS, and no other machine's", async () => {
        const id = await license({ leasingStrategy: 'PER_PROCESS', maxSeats: 10 });
        const procs = await Promise.all(['p1', 'p2', 'p3'].map((p) => store.acquire(id, newId('ses'), 'box', undefined, { processId: p })));
        const other = await store.acquire(id, newId('ses'), 'other-box', undefined, { processId: 'p1' });
        const done = await store.deactivate(id, 'box', true);
        expect(done.kind === 'deactivated' && [...done.endedSessionIds].sort()).toEqual(procs.map((p) => (p as { sessionId: string }).sessionId).sort());
        expect(done).toMatchObject({ seats: { used: 1 } });
        expect(await store.heartbeat(id, (other as { sessionId: string }).sessionId)).toMatchObject({ kind: 'renewed' });
      });

      it('hands the seats a forced deactivation frees to the first in line', async () => {
        const id = await license({ maxSeats: 1, queue: { enabled: true, maxLength: 10, claimMs: 60_000 } });
        await grant(id, 'holder');
        const waiting = await store.acquire(id, newId('ses'), 'waiter', undefined, { queueTicketId: newId('qtk') });
        expect(waiting.kind).toBe('queued');
        await store.deactivate(id, 'holder', true);
        const ticketId = (waiting as { ticket: { ticketId: string } }).ticket.ticketId;
        expect(await store.ticket(id, ticketId, 'read')).toMatchObject({ ticket: { status: 'READY' } });
      });

      it('keeps deactivation and a first acquire on the same machine consistent under 200 concurrent calls', async () => {
        const id = await license({ maxSeats: 500, maxMachines: 1 });
        const calls = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? store.acquire(id, newId('ses'), 'contested') : store.deactivate(id, 'contested', true))),
        );
        const granted = calls.filter((c) => c.kind === 'granted').length;
        const ended = new Set(calls.flatMap((c) => (c.kind === 'deactivated' ? c.endedSessionIds : [])));
        // Each grant is either still live (the last ones) or was ended by a deactivation that followed it.
        const live = (await store.count(id))!.used;
        expect(granted).toBeGreaterThan(0);
        expect(ended.size + live).toBe(calls.filter((c) => c.kind === 'granted' && !c.renewed).length);
        expect(live).toBeLessThanOrEqual(1);
      });
    });

    describe('overage', () => {
      it.each([
        ['NONE', 8],
        ['ALLOW_1_25X', 10],
        ['ALLOW_1_5X', 12],
        ['ALLOW_2X', 16],
        ['ALWAYS', 300],
      ] as const)('under %s grants exactly %i of 8 seats to 300 concurrent clients, those past maxSeats marked', async (overage, bound) => {
        const id = await license({ maxSeats: 8, overage });
        const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => store.acquire(id, newId('ses'), `fp-${i}`)));
        const granted = outcomes.filter((o) => o.kind === 'granted');
        expect(granted).toHaveLength(bound);
        expect(granted.filter((o) => o.overage)).toHaveLength(bound - 8);
        expect(outcomes.filter((o) => o.kind === 'refused' && o.reason === 'NO_SEATS')).toHaveLength(300 - bound);
        expect(await store.count(id)).toMatchObject({ used: bound, max: 8 });
      });

      it('rounds the bound down: 1.25 times 3 seats grants no overage', async () => {
        const id = await license({ maxSeats: 3, overage: 'ALLOW_1_25X' });
        for (const fp of ['a', 'b', 'c']) await grant(id, fp);
        expect(await store.acquire(id, newId('ses'), 'd')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
      });

      it('keeps the mark through renewals and heartbeats, and a seat freed below maxSeats is granted unmarked', async () => {
        const id = await license({ maxSeats: 1, overage: 'ALLOW_2X' });
        const first = await grant(id, 'first');
        const extra = await grant(id, 'extra');
        expect([first.overage, extra.overage]).toEqual([false, true]);
        expect((await grant(id, 'extra')).overage).toBe(true);
        expect(await store.heartbeat(id, extra.sessionId)).toMatchObject({ kind: 'renewed', overage: true });
        expect(await store.heartbeat(id, first.sessionId)).toMatchObject({ kind: 'renewed', overage: false });
        await store.release(id, first.sessionId, false);
        await store.release(id, extra.sessionId, false);
        expect((await grant(id, 'later')).overage).toBe(false);
      });

      it('applies a changed strategy at once', async () => {
        const id = await license({ maxSeats: 1 });
        await grant(id, 'one');
        expect(await store.acquire(id, newId('ses'), 'two')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        await store.configure(id, terms({ maxSeats: 1, overage: 'ALLOW_2X' }));
        expect((await grant(id, 'two')).overage).toBe(true);
        await store.configure(id, terms({ maxSeats: 1, overage: 'NONE' }));
        expect(await store.acquire(id, newId('ses'), 'three')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        expect(await store.count(id)).toMatchObject({ used: 2, max: 1 });
      });

      it('loads the overage marks it is given', async () => {
        const id = newId('lic');
        const [a, b] = [newId('ses'), newId('ses')];
        const expiresAtMs = Date.now() + 60_000;
        await store.load(
          id,
          terms({ maxSeats: 1, overage: 'ALLOW_2X' }),
          [
            { sessionId: a, fingerprint: 'a', expiresAtMs, overage: false, userId: null, processId: null },
            { sessionId: b, fingerprint: 'b', expiresAtMs, overage: true, userId: null, processId: null },
          ],
          ['a', 'b'],
        );
        expect(await store.heartbeat(id, b)).toMatchObject({ kind: 'renewed', overage: true });
        expect(await store.acquire(id, newId('ses'), 'c')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
      });
    });

    describe('leasing per process', () => {
      const perProcess = (overrides: Partial<LicenseTerms> = {}) =>
        license({ leasingStrategy: 'PER_PROCESS', maxSeats: 50, maxProcessesPerMachine: 4, ...overrides });
      const run = (id: string, fingerprint: string, processId: string) =>
        store.acquire(id, newId('ses'), fingerprint, undefined, { processId });

      it('gives each process of a machine its own seat, renews a returning process, and refuses an acquire without a process id', async () => {
        const id = await perProcess();
        const first = await run(id, 'box', 'p1');
        const second = await run(id, 'box', 'p2');
        expect(first).toMatchObject({ kind: 'granted', renewed: false, newMachine: true });
        expect(second).toMatchObject({ kind: 'granted', renewed: false, newMachine: false });
        expect(await run(id, 'box', 'p1')).toMatchObject({ renewed: true, sessionId: (first as { sessionId: string }).sessionId });
        expect(await store.acquire(id, newId('ses'), 'box')).toMatchObject({ kind: 'refused', reason: 'PROCESS_ID_REQUIRED' });
        expect(await store.count(id)).toMatchObject({ used: 2 });
      });

      it('holds exactly maxProcessesPerMachine per machine against 300 concurrent processes on 3 machines', async () => {
        const id = await perProcess();
        const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => run(id, `box-${i % 3}`, `proc-${i}`)));
        expect(outcomes.filter((o) => o.kind === 'granted')).toHaveLength(12);
        const refused = outcomes.filter((o) => o.kind === 'refused');
        expect(refused).toHaveLength(288);
        expect(refused.every((o) => o.kind === 'refused' && o.reason === 'TOO_MANY_PROCESSES' && o.limit === 4)).toBe(true);
        expect(await store.count(id)).toMatchObject({ used: 12 });
      });

      it('frees a process slot on release and at expiry, and keeps maxMachines counting machines', async () => {
        const id = await perProcess({ maxProcessesPerMachine: 1, maxMachines: 2, leaseMs: 300 });
        const held = (await run(id, 'a', 'p1')) as { sessionId: string };
        expect(await run(id, 'a', 'p2')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_PROCESSES' });
        await store.release(id, held.sessionId, false);
        expect(await run(id, 'a', 'p2')).toMatchObject({ kind: 'granted' });
        expect(await run(id, 'b', 'p1')).toMatchObject({ kind: 'granted' });
        expect(await run(id, 'c', 'p1')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_MACHINES', limit: 2 });
        await sleep(350);
        expect(await run(id, 'a', 'p3')).toMatchObject({ kind: 'granted' });
      });

      it('loads processes from their sessions, so the per-machine bound holds after a rebuild', async () => {
        const id = newId('lic');
        const expiresAtMs = Date.now() + 60_000;
        const session = (processId: string) => ({ sessionId: newId('ses'), fingerprint: 'box', expiresAtMs, overage: false, userId: null, processId });
        const kept = session('p1');
        await store.load(id, terms({ leasingStrategy: 'PER_PROCESS', maxProcessesPerMachine: 2 }), [kept, session('p2')], ['box']);
        expect(await run(id, 'box', 'p3')).toMatchObject({ kind: 'refused', reason: 'TOO_MANY_PROCESSES' });
        expect(await run(id, 'box', 'p1')).toMatchObject({ renewed: true, sessionId: kept.sessionId });
      });
    });

    describe('leasing per user', () => {
      const perUser = (overrides: Partial<LicenseTerms> = {}) => license({ leasingStrategy: 'PER_USER', maxSeats: 5, ...overrides });
      const use = (id: string, userId: string, fingerprint: string) => store.acquire(id, newId('ses'), fingerprint, undefined, { userId });

      it('gives one user on several machines one seat, a session per machine, until the last of them ends', async () => {
        const id = await perUser({ maxSeats: 1 });
        const laptop = (await use(id, 'ann', 'laptop')) as { sessionId: string };
        const desktop = (await use(id, 'ann', 'desktop')) as { sessionId: string };
        expect(desktop).toMatchObject({ kind: 'granted', renewed: false, overage: false, seats: { used: 1, max: 1 } });
        expect(desktop.sessionId).not.toBe(laptop.sessionId);
        expect(await use(id, 'bob', 'bobs-box')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        expect(await store.release(id, laptop.sessionId, false)).toMatchObject({ seats: { used: 1 } });
        expect(await use(id, 'bob', 'bobs-box')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        expect(await store.release(id, desktop.sessionId, false)).toMatchObject({ seats: { used: 0 } });
        expect(await use(id, 'bob', 'bobs-box')).toMatchObject({ kind: 'granted' });
        expect(await store.acquire(id, newId('ses'), 'anon')).toMatchObject({ kind: 'refused', reason: 'USER_ID_REQUIRED' });
      });

      it('grants exactly maxSeats users, on all of their machines, to 300 concurrent acquires', async () => {
        const id = await perUser();
        const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => use(id, `user-${i % 30}`, `machine-${i}`)));
        const granted = outcomes.filter((o) => o.kind === 'granted');
        expect(granted).toHaveLength(50);
        expect(outcomes.filter((o) => o.kind === 'refused' && o.reason === 'NO_SEATS')).toHaveLength(250);
        expect(await store.count(id)).toMatchObject({ used: 5 });
      });

      it("ends a user's seat at the expiry of its last lease, and revives a lease while the user's seat lives", async () => {
        const id = await perUser({ maxSeats: 1, leaseMs: 300, reviveMs: 5_000 });
        const short = (await use(id, 'ann', 'a')) as { sessionId: string };
        await sleep(150);
        const long = (await use(id, 'ann', 'b')) as { sessionId: string };
        await sleep(200);
        expect(await store.count(id)).toMatchObject({ used: 1 });
        expect(await store.heartbeat(id, short.sessionId)).toMatchObject({ kind: 'renewed', revived: true });
        expect(await store.count(id)).toMatchObject({ used: 1 });
        await sleep(350);
        expect(await store.count(id)).toMatchObject({ used: 0 });
        expect(await use(id, 'bob', 'c')).toMatchObject({ kind: 'granted' });
        expect(await store.heartbeat(id, long.sessionId)).toEqual({ kind: 'lapsed', reason: 'expired' });
      });

      it('counts each live lease as a seat of its own when a license turns PER_USER, and user seats after a rebuild', async () => {
        const id = await license({ maxSeats: 2 });
        await grant(id, 'old-1');
        await store.configure(id, terms({ maxSeats: 2, leasingStrategy: 'PER_USER' }));
        expect(await store.count(id)).toMatchObject({ used: 1 });
        await use(id, 'ann', 'x');
        expect(await use(id, 'bob', 'y')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        await store.configure(id, terms({ maxSeats: 2 }));
        expect(await store.count(id)).toMatchObject({ used: 2 });

        const rebuilt = newId('lic');
        const expiresAtMs = Date.now() + 60_000;
        const session = (userId: string, fingerprint: string) => ({ sessionId: newId('ses'), fingerprint, expiresAtMs, overage: false, userId, processId: null });
        await store.load(rebuilt, terms({ maxSeats: 2, leasingStrategy: 'PER_USER' }), [session('ann', 'a'), session('ann', 'b')], ['a', 'b']);
        expect(await store.count(rebuilt)).toMatchObject({ used: 1 });
        expect(await use(rebuilt, 'bob', 'c')).toMatchObject({ kind: 'granted', seats: { used: 2 } });
      });
    });

    describe('linger', () => {
      const linger = { linger: true };

      it('keeps a released seat in use for its holder alone, who resumes it, and frees it at its end with nobody removing it', async () => {
        const id = await license({ maxSeats: 1, lingerMs: 400 });
        const first = await grant(id, 'mine');
        expect(await store.release(id, first.sessionId, false, undefined, linger)).toMatchObject({ state: 'released', seats: { used: 1 } });
        expect(await store.acquire(id, newId('ses'), 'other')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        const resumed = await grant(id, 'mine');
        expect(resumed).toMatchObject({ renewed: false, seats: { used: 1 } });
        expect(resumed.sessionId).not.toBe(first.sessionId);

        await store.release(id, resumed.sessionId, false, undefined, linger);
        await sleep(450);
        expect(await store.count(id)).toMatchObject({ used: 0 });
        expect(await store.acquire(id, newId('ses'), 'other')).toMatchObject({ kind: 'granted' });
      });

      it('frees at once on a release that may not linger (a revoke)', async () => {
        const id = await license({ maxSeats: 1, lingerMs: 60_000 });
        const first = await grant(id, 'mine');
        expect(await store.release(id, first.sessionId, false)).toMatchObject({ seats: { used: 0 } });
        expect(await store.acquire(id, newId('ses'), 'other')).toMatchObject({ kind: 'granted' });
      });

      it('gives 5 lingering seats to their 5 holders only, among 300 concurrent acquires', async () => {
        const id = await license({ maxSeats: 5, lingerMs: 60_000 });
        for (let i = 0; i < 5; i++) await store.release(id, (await grant(id, `owner-${i}`)).sessionId, false, undefined, linger);
        const fingerprints = Array.from({ length: 300 }, (_, i) => (i % 60 === 0 ? `owner-${i / 60}` : `stranger-${i}`));
        const outcomes = await Promise.all(fingerprints.map((fp) => store.acquire(id, newId('ses'), fp)));
        const winners = fingerprints.filter((_, i) => outcomes[i]!.kind === 'granted');
        expect(winners.sort()).toEqual(['owner-0', 'owner-1', 'owner-2', 'owner-3', 'owner-4']);
        expect(await store.count(id)).toMatchObject({ used: 5 });
      });

      it("lingers a user's seat after the last of its machines releases, for any machine of that user", async () => {
        const id = await license({ maxSeats: 1, lingerMs: 60_000, leasingStrategy: 'PER_USER' });
        const use = (fp: string, userId: string) => store.acquire(id, newId('ses'), fp, undefined, { userId });
        const laptop = (await use('laptop', 'ann')) as { sessionId: string };
        await store.release(id, laptop.sessionId, false, undefined, linger);
        expect(await use('bobs', 'bob')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS' });
        expect(await use('desktop', 'ann')).toMatchObject({ kind: 'granted', seats: { used: 1 } });
      });

      it('loads lingering seats, and none for a holder that resumed', async () => {
        const id = newId('lic');
        const untilMs = Date.now() + 60_000;
        const open = { sessionId: newId('ses'), fingerprint: 'back', expiresAtMs: untilMs, overage: false, userId: null, processId: null };
        const seat = (fingerprint: string) => ({ sessionId: newId('ses'), fingerprint, userId: null, processId: null, untilMs });
        await store.load(id, terms({ maxSeats: 3, lingerMs: 60_000 }), [open], ['back', 'gone'], [seat('gone'), seat('back')]);
        expect(await store.count(id)).toMatchObject({ used: 2 });
        expect(await grant(id, 'gone')).toMatchObject({ seats: { used: 2 } });
      });
    });

    describe('the queue', () => {
      const queued = (claimMs = 60_000, maxLength = 1_000) => ({ enabled: true, maxLength, claimMs });
      const wait = async (id: string, fingerprint: string) => {
        const outcome = await store.acquire(id, newId('ses'), fingerprint, undefined, { queueTicketId: newId('qtk') });
        if (outcome.kind !== 'queued') throw new Error(`expected a ticket, got ${JSON.stringify(outcome)}`);
        return outcome.ticket;
      };
      const status = async (id: string, ticketId: string) => {
        const read = await store.ticket(id, ticketId, 'read');
        return read.kind === 'ticket' ? read.ticket && { status: read.ticket.status, position: read.ticket.position } : read;
      };

      it('grants 10 seats and queues 490 of 500 concurrent clients in line, then hands each freed seat to the next in FIFO order', async () => {
        const id = await license({ maxSeats: 10, queue: queued() });
        const order = Array.from({ length: 500 }, (_, i) => `client-${i}`);
        const outcomes = await Promise.all(order.map((fp) => store.acquire(id, newId('ses'), fp, undefined, { queueTicketId: newId('qtk') })));
        const granted = outcomes.filter((o) => o.kind === 'granted');
        const tickets = outcomes.flatMap((o) => (o.kind === 'queued' ? [o.ticket] : []));
        expect(granted).toHaveLength(10);
        expect(tickets).toHaveLength(490);
        expect(tickets.map((t) => t.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 490 }, (_, i) => i + 1));
        const inLine = [...tickets].sort((a, b) => a.position - b.position);

        for (let i = 0; i < 10; i++) {
          await store.release(id, (granted[i] as { sessionId: string }).sessionId, false);
          expect(await status(id, inLine[i]!.ticketId)).toEqual({ status: 'READY', position: 0 });
          expect(await status(id, inLine[i + 1]!.ticketId)).toEqual({ status: 'WAITING', position: 1 });
          // The set-aside seat counts as used: nobody outside the line takes it.
          expect(await store.acquire(id, newId('ses'), 'outsider')).toMatchObject({ kind: 'refused', reason: 'NO_SEATS', seats: { used: 10 } });
          const claimed = await store.acquire(id, newId('ses'), '', undefined, { claimTicketId: inLine[i]!.ticketId });
          expect(claimed).toMatchObject({ kind: 'granted', renewed: false, seats: { used: 10 } });
          expect(await status(id, inLine[i]!.ticketId)).toEqual({ status: 'CLAIMED', position: 0 });
        }
        expect(await store.count(id)).toMatchObject({ used: 10 });
      }, 60_000);

      it('answers the holder its open ticket again, and the holder of a READY ticket takes its seat by acquiring', async () => {
        const id = await license({ maxSeats: 1, queue: queued() });
        const holder = await grant(id, 'holder');
        const ticket = await wait(id, 'waiter');
        expect((await wait(id, 'waiter')).ticketId).toBe(ticket.ticketId);
        await store.release(id, holder.sessionId, false);
        expect(await grant(id, 'waiter')).toMatchObject({ seats: { used: 1 } });
        expect(await status(id, ticket.ticketId)).toEqual({ status: 'CLAIMED', position: 0 });
      });

      it('passes a set-aside seat to the next ticket when its claim time is up, and lapsed tickets leave without blocking the line', async () => {
        const id = await license({ maxSeats: 1, queue: queued(300) });
        const holder = await grant(id, 'holder');
        const first = await wait(id, 'first');
        const lapsing = await wait(id, 'lapsing');
        const third = await wait(id, 'third');
        await store.release(id, holder.sessionId, false);
        expect(await status(id, first.ticketId)).toEqual({ status: 'READY', position: 0 });
        await sleep(200);
        expect((await store.ticket(id, third.ticketId, 'heartbeat')).kind).toBe('ticket');
        await sleep(150);
        // first never claimed, lapsing never heartbeat: both ended, and the seat is third's.
        expect(await status(id, third.ticketId)).toEqual({ status: 'READY', position: 0 });
        expect(await status(id, first.ticketId)).toEqual({ status: 'EXPIRED', position: 0 });
        expect(await status(id, lapsing.ticketId)).toEqual({ status: 'EXPIRED', position: 0 });
        expect(await store.acquire(id, newId('ses'), '', undefined, { claimTicketId: first.ticketId })).toMatchObject({
          kind: 'refused',
          reason: 'TICKET_ENDED',
        });
      });

      it('lets a ticket leave, moving everyone behind it up; unknown tickets are not found, and a full line refuses', async () => {
        const id = await license({ maxSeats: 1, queue: queued(60_000, 2) });
        await grant(id, 'holder');
        const a = await wait(id, 'a');
        const b = await wait(id, 'b');
        expect(await store.acquire(id, newId('ses'), 'c', undefined, { queueTicketId: newId('qtk') })).toMatchObject({
          kind: 'refused',
          reason: 'NO_SEATS',
        });
        expect(await store.ticket(id, a.ticketId, 'leave')).toMatchObject({ ticket: { status: 'LEFT', position: 0 } });
        expect(await status(id, b.ticketId)).toEqual({ status: 'WAITING', position: 1 });
        expect(await status(id, newId('qtk'))).toBeNull();
        expect(await store.acquire(id, newId('ses'), '', undefined, { claimTicketId: b.ticketId })).toMatchObject({ kind: 'queued' });
      });

      it('gives the seats of a raised limit to the first in line, and queues nobody where the queue is off', async () => {
        const id = await license({ maxSeats: 1, queue: queued() });
        await grant(id, 'holder');
        const a = await wait(id, 'a');
        await store.configure(id, terms({ maxSeats: 2, queue: queued() }));
        expect(await status(id, a.ticketId)).toEqual({ status: 'READY', position: 0 });
        const off = await license({ maxSeats: 1 });
        await grant(off, 'holder');
        expect(await store.acquire(off, newId('ses'), 'x', undefined, { queueTicketId: newId('qtk') })).toMatchObject({ kind: 'refused' });
      });

      it('rebuilds the line from the record in its order, over more tickets than one load call carries, and gives a free seat to the first', async () => {
        const id = newId('lic');
        const holder = { sessionId: newId('ses'), fingerprint: 'holder', expiresAtMs: Date.now() + 60_000, overage: false, userId: null, processId: null };
        const line = Array.from({ length: 1_200 }, (_, i) => ({ ticketId: newId('qtk'), fingerprint: `waiter-${i}`, userId: null, processId: null }));
        await store.load(id, terms({ maxSeats: 2, queue: queued(60_000, 2_000) }), [holder], ['holder'], [], line);
        expect(await store.count(id)).toMatchObject({ used: 2, queued: 1_199 });
        expect(await status(id, line[0]!.ticketId)).toEqual({ status: 'READY', position: 0 });
        expect(await status(id, line[1]!.ticketId)).toEqual({ status: 'WAITING', position: 1 });
        expect(await status(id, line[1_199]!.ticketId)).toEqual({ status: 'WAITING', position: 1_199 });
        // The holder of a rebuilt ticket is known: asking again answers the same ticket.
        expect((await wait(id, 'waiter-600')).ticketId).toBe(line[600]!.ticketId);
        expect((await wait(id, 'newcomer')).position).toBe(1_200);
        expect(await store.acquire(id, newId('ses'), '', undefined, { claimTicketId: line[0]!.ticketId })).toMatchObject({ kind: 'granted' });
      });

      it('announces every change of the line', async () => {
        const id = await license({ maxSeats: 1, queue: queued() });
        const holder = await grant(id, 'holder');
        const messages = await pubsub.subscribe(queueChannel(id));
        await wait(id, 'a');
        await store.release(id, holder.sessionId, false);
        for (let i = 0; i < 2; i++) expect(typeof (await messages.next()).value).toBe('string');
        await messages.return?.();
      });

      it("announces the count whenever the line changes, also where the seats in use do not: a seat passed to the first in line, a ticket that lapsed", async () => {
        // Attached before the load, as in the count-order test below: on Redis Cluster a count
        // published before the subscription may still reach it, so every message is accounted for.
        const id = newId('lic');
        const counts = await pubsub.subscribe(seatChannel(id));
        const next = async () => {
          const { value } = await counts.next();
          const count = parseCountMessage(id, value as string);
          return { used: count.used, queued: (await store.count(id))!.queued };
        };
        await store.load(id, terms({ maxSeats: 1, queue: queued(1_000) }), [], []);
        const holder = await grant(id, 'holder');
        const first = await wait(id, 'first');
        await wait(id, 'second');
        // The load, the grant and each ticket joining the line.
        for (const used of [0, 1, 1, 1]) expect((await next()).used).toBe(used);
        // The holder's seat goes to first: as many seats in use as before, one fewer in line.
        await store.release(id, holder.sessionId, false);
        expect(await next()).toEqual({ used: 1, queued: 1 });
        // Nobody heartbeats: first's claim time and second's ticket run out; the next call to
        // settle the line (here a read of first's ticket) ends both and says so.
        await sleep(1_100);
        expect(await status(id, first.ticketId)).toEqual({ status: 'EXPIRED', position: 0 });
        expect(await next()).toEqual({ used: 0, queued: 0 });
        await counts.return?.();
      });
    });

    describe("the license's rate-limit token, taken in the same step", () => {
      // A bucket that gains no token while a test runs (2 a day), so counts are exact.
      const twoADay = { capacity: 2, refillPerSecond: 2 / 86_400 };

      it('draws acquire, heartbeat and release from one bucket per license, and refuses without changing anything', async () => {
        const id = await license({ maxSeats: 5 });
        const granted = await store.acquire(id, newId('ses'), 'a', twoADay);
        expect(granted).toMatchObject({ kind: 'granted', rate: { allowed: true, limit: 2, remaining: 1 } });
        const sessionId = (granted as { sessionId: string }).sessionId;
        expect(await store.heartbeat(id, sessionId, twoADay)).toMatchObject({ kind: 'renewed', rate: { remaining: 0 } });

        const refused = await store.acquire(id, newId('ses'), 'b', twoADay);
        expect(refused).toMatchObject({ kind: 'rate-limited', rate: { allowed: false, remaining: 0 } });
        expect((refused as { rate: { retryAfterMs: number } }).rate.retryAfterMs).toBeGreaterThan(0);
        expect(await store.release(id, sessionId, false, twoADay)).toMatchObject({ kind: 'rate-limited' });
        expect(await store.count(id)).toMatchObject({ used: 1 }); // b got no seat, a kept its own

        // Another license has its own bucket; a call without a spec takes nothing.
        expect(await store.acquire(await license(), newId('ses'), 'a', twoADay)).toMatchObject({ rate: { remaining: 1 } });
        expect(await store.release(id, sessionId, false)).toMatchObject({ state: 'released', rate: undefined });
      });

      it('takes no token from a license it does not hold: the retry after loading takes it', async () => {
        const id = newId('lic');
        expect(await store.heartbeat(id, newId('ses'), twoADay)).toEqual({ kind: 'unloaded' });
        await store.load(id, terms(), [], []);
        expect(await store.acquire(id, newId('ses'), 'first', twoADay)).toMatchObject({ rate: { remaining: 1 } });
      });

      it('grants exactly the tokens there are to 100 concurrent heartbeats', async () => {
        const id = await license();
        const granted = await grant(id, 'busy');
        const spec = { capacity: 10, refillPerSecond: 10 / 86_400 };
        const outcomes = await Promise.all(Array.from({ length: 100 }, () => store.heartbeat(id, granted.sessionId, spec)));
        expect(outcomes.filter((o) => o.kind === 'renewed')).toHaveLength(10);
        expect(outcomes.filter((o) => o.kind === 'rate-limited')).toHaveLength(90);
      });
    });

    it('publishes every count change in the order it was decided', async () => {
      // Attached before the load: on Redis Cluster a PUBLISH reaches the other nodes over the
      // cluster bus after the script returns, so a subscriber attached after the load (on
      // another node than the license's) may or may not still receive the load's count.
      const id = newId('lic');
      const messages = await pubsub.subscribe(seatChannel(id));
      await store.load(id, terms({ maxSeats: 5 }), [], []);
      const a = await grant(id, 'p1');
      const b = await grant(id, 'p2');
      await grant(id, 'p1'); // a renewal changes no count and publishes nothing
      await store.release(id, a.sessionId, false);
      await store.release(id, b.sessionId, false);
      await store.configure(id, terms({ maxSeats: 6 }));
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { value } = await messages.next();
        const count = parseCountMessage(id, value as string);
        seen.push(`${count.used}/${count.max}`);
      }
      await messages.return?.();
      expect(seen).toEqual(['0/5', '1/5', '2/5', '1/5', '0/5', '0/6']);
    });
  });
}
