/**
 * The seat store contract for a lease past its expiry, run on every implementation like
 * seatStoreContract.ts: inside the revive window a lapsed lease may come back, but never beside
 * a newer session of the same machine, and neither a release nor a sweep of the old session may
 * unhook the machine's newer one. Each case here once passed the whole suite with its guard
 * taken out of lua/*.lua or the in-process store.
 */
import { describe, expect, it } from 'vitest';
import type { LicenseTerms, SeatStore } from '../../src/stores/seats/contract.ts';
import { newId } from '../../src/lib/ids.ts';
import { seatTerms } from './seatTerms.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Leases of 200 ms that may be revived for 5 s, with seats to spare: only the fingerprint rule can refuse. */
const LAPSING = seatTerms({ leaseMs: 200, reviveMs: 5_000 });
const PAST_EXPIRY_MS = 250;

export function describeLapsedLeaseContract(name: string, store: SeatStore): void {
  describe(`a lapsed lease in the ${name} seat store`, () => {
    async function license(overrides: Partial<LicenseTerms> = {}) {
      const id = newId('lic');
      await store.load(id, { ...LAPSING, ...overrides }, [], []);
      return id;
    }
    const grant = async (licenseId: string, fingerprint: string) => {
      const outcome = await store.acquire(licenseId, newId('ses'), fingerprint);
      if (outcome.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(outcome)}`);
      return outcome;
    };
    /** A machine whose first lease lapsed and which then acquired again: its old and its new session. */
    async function reacquired(licenseId: string, fingerprint: string) {
      const old = await grant(licenseId, fingerprint);
      await sleep(PAST_EXPIRY_MS);
      const current = await grant(licenseId, fingerprint);
      expect(current.renewed).toBe(false);
      expect(current.sessionId).not.toBe(old.sessionId);
      expect(current.seats.used).toBe(1);
      return { old, current };
    }

    it('is not revived by a heartbeat once its machine holds a newer session: one machine, one seat', async () => {
      const id = await license();
      const { old, current } = await reacquired(id, 'moved-on');
      expect(await store.heartbeat(id, old.sessionId)).toEqual({ kind: 'lapsed', reason: 'expired' });
      expect((await store.count(id))?.used).toBe(1);
      expect(await store.heartbeat(id, current.sessionId)).toMatchObject({ kind: 'renewed', revived: false, fingerprint: 'moved-on' });
      expect((await store.count(id))?.used).toBe(1);
    });

    it("when released, leaves its machine's newer session in place: the next acquire renews that one", async () => {
      const id = await license();
      const { old, current } = await reacquired(id, 'released-old');
      expect(await store.release(id, old.sessionId, false)).toMatchObject({ state: 'already-expired', seats: { used: 1 } });
      const again = await grant(id, 'released-old');
      expect(again).toMatchObject({ renewed: true, sessionId: current.sessionId, seats: { used: 1 } });
      expect((await store.count(id))?.used).toBe(1);
    });

    it("when reaped, leaves its machine's newer session in place: the next acquire renews that one", async () => {
      const id = await license({ reviveMs: 0 });
      const { old, current } = await reacquired(id, 'reaped-old');
      expect((await store.reap(id, [old.sessionId]))?.sessions).toEqual([
        { sessionId: old.sessionId, state: 'removed', expiresAtMs: old.expiresAtMs },
      ]);
      const again = await grant(id, 'reaped-old');
      expect(again).toMatchObject({ renewed: true, sessionId: current.sessionId, seats: { used: 1 } });
      expect((await store.count(id))?.used).toBe(1);
    });

    it('stays revivable through a sweep inside the revive window', async () => {
      const id = await license({ maxSeats: 1 });
      const lapsed = await grant(id, 'swept');
      await sleep(PAST_EXPIRY_MS);
      expect((await store.reap(id, [lapsed.sessionId]))?.sessions).toEqual([
        { sessionId: lapsed.sessionId, state: 'held', expiresAtMs: lapsed.expiresAtMs },
      ]);
      expect(await store.heartbeat(id, lapsed.sessionId)).toMatchObject({ kind: 'renewed', revived: true, fingerprint: 'swept' });
      expect((await store.count(id))?.used).toBe(1);
    });
  });
}
