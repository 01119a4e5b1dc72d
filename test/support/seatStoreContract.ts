/**
 * The seat store contract as one shared suite: every implementation (Redis on one node, Redis
 * Cluster, the in-process store of the embedded mode) must answer every seat question the same
 * way. A test file calls `describeSeatStoreContract` once per implementation and owns the
 * connections (it closes them in its own afterAll).
 */
import { describe, expect, it } from 'vitest';
import type { PubSub } from '../../src/stores/pubsub/contract.ts';
import { parseCountMessage, seatChannel, type LicenseTerms, type SeatStore } from '../../src/stores/seats/contract.ts';
import { newId } from '../../src/lib/ids.ts';

// Kept here rather than imported from harness.ts, which builds the whole app: the seat store
// suites need nothing but the store.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const terms = (overrides: Partial<LicenseTerms> = {}): LicenseTerms => ({
  status: 'ACTIVE',
  maxSeats: 3,
  maxMachines: null,
  leaseMs: 60_000,
  reviveMs: 0,
  expiresAtMs: null,
  tier: 'pro',
  features: ['export'],
  ...overrides,
});

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
      expect(reaped).toEqual([
        { sessionId: short.sessionId, state: 'removed', expiresAtMs: short.expiresAtMs },
        { sessionId: live.sessionId, state: 'held', expiresAtMs: live.expiresAtMs },
        { sessionId: unknown, state: 'missing', expiresAtMs: 0 },
      ]);
      expect((await store.reap(id, [short.sessionId]))?.[0]?.state).toBe('missing');
    });

    it('loads once: a second load of a loaded license changes nothing', async () => {
      const id = newId('lic');
      const sessionId = newId('ses');
      await store.load(id, terms({ maxSeats: 4 }), [{ sessionId, fingerprint: 'kept', expiresAtMs: Date.now() + 60_000 }], ['kept']);
      await store.load(id, terms({ maxSeats: 9 }), [], []);
      expect(await store.count(id)).toMatchObject({ used: 1, max: 4 });
      expect(await store.heartbeat(id, sessionId)).toMatchObject({ kind: 'renewed', fingerprint: 'kept' });
    });

    it('applies changed terms at once', async () => {
      const id = await license({ maxSeats: 1 });
      await grant(id, 'one');
      expect(await store.configure(id, terms({ maxSeats: 2 }))).toEqual({ endedSessionIds: [] });
      await grant(id, 'two');
      expect((await store.count(id))?.used).toBe(2);
      expect(await store.configure(newId('lic'), terms())).toBeUndefined();
    });

    it('ends every lease at once when a license is suspended, and grants again once it is active', async () => {
      const id = await license({ maxSeats: 3 });
      const a = await grant(id, 'one');
      const b = await grant(id, 'two');
      const suspended = await store.configure(id, terms({ maxSeats: 3, status: 'SUSPENDED' }));
      expect(suspended?.endedSessionIds.sort()).toEqual([a.sessionId, b.sessionId].sort());
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
