/**
 * The meter store contract as one shared suite: Redis (lua/record_usage.lua) and the in-process
 * store of the embedded mode must answer every metering question the same way. A test file
 * calls `describeMeterStoreContract` once per implementation and owns the connections.
 */
import { describe, expect, it } from 'vitest';
import type { MeterDefinition } from '../../src/db/schema.ts';
import type { MeterStore, MeterTerms } from '../../src/stores/meters/contract.ts';
import { newId } from '../../src/lib/ids.ts';
import { usagePeriods } from '../../src/services/meters/periods.ts';

const DAY = 86_400_000;
const NOON = Date.UTC(2026, 11, 1, 12);
const periods = usagePeriods(NOON);

const meter = (overrides: Partial<MeterDefinition> = {}): MeterDefinition => ({
  name: 'api-calls',
  limit: 10,
  period: 'DAY',
  overage: 0,
  ...overrides,
});

export function describeMeterStoreContract(name: string, store: MeterStore): void {
  describe(`the ${name} meter store`, () => {
    async function license(meters: MeterDefinition[] = [meter()], overrides: Partial<MeterTerms> = {}) {
      const id = newId('lic');
      await store.load(id, { status: 'ACTIVE', expiresAtMs: null, meters, ...overrides }, periods, [], []);
      return id;
    }
    const use = (licenseId: string, amount: number, key: string = crypto.randomUUID(), at = periods, meterName = 'api-calls') =>
      store.record(licenseId, { meter: meterName, amount, idempotencyKey: key }, at);

    it('answers unloaded for a license it does not hold, so the caller loads it from Postgres', async () => {
      const id = newId('lic');
      expect(await use(id, 1)).toEqual({ kind: 'unloaded' });
      expect(await store.read(id, periods)).toBeUndefined();
    });

    it('takes amounts up to limit + overage and refuses the one that would pass it, counting nothing', async () => {
      const id = await license([meter({ limit: 10, overage: 2 })]);
      expect(await use(id, 7)).toMatchObject({ kind: 'recorded', replay: false, count: { used: 7, limit: 10, overage: 2, period: periods.day } });
      expect(await use(id, 5)).toMatchObject({ kind: 'recorded', count: { used: 12 } });
      expect(await use(id, 1)).toMatchObject({ kind: 'exhausted', replay: false, count: { used: 12 }, firstInPeriod: true });
      expect(await use(id, 1)).toMatchObject({ kind: 'exhausted', firstInPeriod: false });
      expect(await store.read(id, periods)).toEqual([{ name: 'api-calls', used: 12, limit: 10, overage: 2, period: periods.day }]);
    });

    it('records exactly the limit of 1,000 concurrent calls and gives each key its first answer again on replay', async () => {
      const id = await license([meter({ limit: 500 })]);
      const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
      const first = await Promise.all(keys.map((key) => use(id, 1, key)));
      expect(first.filter((o) => o.kind === 'recorded')).toHaveLength(500);
      expect(first.filter((o) => o.kind === 'exhausted')).toHaveLength(500);
      const totals = first.flatMap((o) => (o.kind === 'recorded' ? [o.count.used] : [])).sort((a, b) => a - b);
      expect(totals).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      const again = await Promise.all(keys.map((key) => use(id, 1, key)));
      again.forEach((o, i) => expect(o).toMatchObject({ kind: first[i]!.kind, replay: true, count: (first[i] as { count: unknown }).count }));
      expect((await store.read(id, periods))?.[0]?.used).toBe(500);
    });

    it('counts a key used by many concurrent calls once', async () => {
      const id = await license([meter({ limit: 1000 })]);
      const outcomes = await Promise.all(Array.from({ length: 200 }, () => use(id, 3, 'the-same-key')));
      expect(outcomes.filter((o) => o.kind === 'recorded' && !o.replay)).toHaveLength(1);
      expect(outcomes.every((o) => o.kind === 'recorded' && o.count.used === 3)).toBe(true);
      expect((await store.read(id, periods))?.[0]?.used).toBe(3);
    });

    it('starts a DAY meter again at 0 at midnight UTC and a MONTH meter on the first, and keeps a LIFETIME one', async () => {
      const id = await license([meter({ name: 'd', period: 'DAY' }), meter({ name: 'm', period: 'MONTH' }), meter({ name: 'l', period: 'LIFETIME' })]);
      for (const m of ['d', 'm', 'l']) await use(id, 4, undefined, periods, m);
      const tomorrow = usagePeriods(Date.UTC(2026, 11, 2, 0, 0, 1));
      expect(await use(id, 1, undefined, tomorrow, 'd')).toMatchObject({ count: { used: 1, period: 'D2026-12-02' } });
      expect(await use(id, 1, undefined, tomorrow, 'm')).toMatchObject({ count: { used: 5, period: 'M2026-12' } });
      const nextMonth = usagePeriods(Date.UTC(2027, 0, 1, 0, 0, 1));
      expect(await use(id, 1, undefined, nextMonth, 'm')).toMatchObject({ count: { used: 1, period: 'M2027-01' } });
      expect(await use(id, 1, undefined, nextMonth, 'l')).toMatchObject({ count: { used: 5, period: 'L' } });
      expect(await store.read(id, usagePeriods(Date.UTC(2027, 0, 3)))).toEqual([
        expect.objectContaining({ name: 'd', used: 0, period: 'D2027-01-03' }),
        expect.objectContaining({ name: 'm', used: 1, period: 'M2027-01' }),
        expect.objectContaining({ name: 'l', used: 5, period: 'L' }),
      ]);
    });

    it('counts a caller whose clock lags behind a newer period into that period', async () => {
      const id = await license();
      await use(id, 2, undefined, usagePeriods(NOON + DAY));
      expect(await use(id, 1, undefined, periods)).toMatchObject({ kind: 'recorded', count: { used: 3, period: 'D2026-12-02' } });
    });

    it('answers a key of yesterday with its first answer all of today, and counts it again the day after', async () => {
      const id = await license();
      await use(id, 2, 'k');
      expect(await use(id, 2, 'k', usagePeriods(NOON + DAY))).toMatchObject({ kind: 'recorded', replay: true, count: { used: 2, period: periods.day } });
      expect(await use(id, 2, 'k', usagePeriods(NOON + 2 * DAY))).toMatchObject({ kind: 'recorded', replay: false, count: { used: 2 } });
    });

    it('announces 80, 90 and 100 % once each per period, several at once when one amount crosses them', async () => {
      const id = await license([meter({ limit: 10, overage: 10 })]);
      const crossed = [];
      for (const amount of [7, 1, 1, 1, 1, 1]) crossed.push(((await use(id, amount)) as { thresholds: number[] }).thresholds);
      expect(crossed).toEqual([[], [80], [90], [100], [], []]);
      const other = await license([meter({ limit: 10 })]);
      expect(await use(other, 10)).toMatchObject({ thresholds: [80, 90, 100] });
      expect(await use(other, 1, undefined, usagePeriods(NOON + DAY))).toMatchObject({ thresholds: [] });
      expect(await use(other, 9, undefined, usagePeriods(NOON + DAY))).toMatchObject({ thresholds: [80, 90, 100] });
    });

    it('refuses for a suspended, revoked or expired license, and for a meter the license does not have', async () => {
      const id = await license();
      expect(await use(id, 1, undefined, periods, 'other')).toEqual({ kind: 'unknown-meter' });
      await store.configure(id, { status: 'SUSPENDED', expiresAtMs: null, meters: [meter()] });
      expect(await use(id, 1)).toEqual({ kind: 'refused', reason: 'SUSPENDED' });
      await store.configure(id, { status: 'REVOKED', expiresAtMs: null, meters: [meter()] });
      expect(await use(id, 1)).toEqual({ kind: 'refused', reason: 'REVOKED' });
      const expired = await license([meter()], { expiresAtMs: Date.now() - 1000 });
      expect(await use(expired, 1)).toEqual({ kind: 'refused', reason: 'EXPIRED' });
    });

    it('applies changed meters at once and keeps their counts', async () => {
      const id = await license([meter({ limit: 5 })]);
      await use(id, 5);
      expect(await use(id, 1)).toMatchObject({ kind: 'exhausted' });
      await store.configure(id, { status: 'ACTIVE', expiresAtMs: null, meters: [meter({ limit: 8 }), meter({ name: 'seats-hours', period: 'MONTH' })] });
      expect(await use(id, 3)).toMatchObject({ kind: 'recorded', count: { used: 8, limit: 8 } });
      expect(await use(id, 1, undefined, periods, 'seats-hours')).toMatchObject({ kind: 'recorded', count: { used: 1 } });
      await store.configure(id, { status: 'ACTIVE', expiresAtMs: null, meters: [meter({ name: 'seats-hours', period: 'MONTH' })] });
      expect(await use(id, 1)).toEqual({ kind: 'unknown-meter' });
    });

    it('loads counts and remembered keys from the record, and a second load changes nothing', async () => {
      const id = newId('lic');
      const terms: MeterTerms = { status: 'ACTIVE', expiresAtMs: null, meters: [meter({ limit: 10 })] };
      await store.load(id, terms, periods, [{ name: 'api-calls', period: periods.day, used: 9 }], [
        { meter: 'api-calls', period: periods.day, idempotencyKey: 'seen', used: 4 },
        { meter: 'api-calls', period: periods.previousDay, idempotencyKey: 'yesterday', used: 6 },
      ]);
      await store.load(id, terms, periods, [], []);
      expect(await use(id, 1, 'seen')).toMatchObject({ kind: 'recorded', replay: true, count: { used: 4 } });
      expect(await use(id, 1, 'yesterday')).toMatchObject({ kind: 'recorded', replay: true, count: { used: 6, period: periods.previousDay } });
      // 90 % was reached before the rebuild: only 100 % is still to come.
      expect(await use(id, 1)).toMatchObject({ kind: 'recorded', count: { used: 10 }, thresholds: [100] });
    });

    it("takes the license's rate-limit token first and changes nothing without one", async () => {
      const id = await license();
      const spec = { capacity: 2, refillPerSecond: 0.001 };
      const take = (key: string) => store.record(id, { meter: 'api-calls', amount: 1, idempotencyKey: key }, periods, spec);
      expect(await take('a')).toMatchObject({ kind: 'recorded', rate: { allowed: true, remaining: 1 } });
      expect(await take('b')).toMatchObject({ kind: 'recorded', rate: { allowed: true, remaining: 0 } });
      expect(await take('c')).toMatchObject({ kind: 'rate-limited', rate: { allowed: false } });
      expect((await store.read(id, periods))?.[0]?.used).toBe(2);
    });
  });
}
