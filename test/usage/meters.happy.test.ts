/**
 * Consumption meters through the API: `recordUsage` from the licensed app with nothing but its
 * key, exact under concurrency, idempotent, reset at the UTC period boundary (the services'
 * clock moves, nobody sleeps), usage in Postgres with its metadata, thresholds announced once
 * per period, and nothing lost when Redis loses the license.
 */
import { and, eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { meterUsage, webhookEvents } from '../../src/db/schema.ts';
import { movableClock, MINUTE } from '../support/clock.ts';
import { admin, gql, REDIS_URL, startApp } from '../support/harness.ts';

const clock = movableClock();
let app: App;
let redis: Redis;
beforeAll(async () => {
  app = await startApp({}, { clock });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await app.close();
});
beforeEach(() => clock.reset());

const CREATE = `mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  __typename ... on LicenseCreated { key license { id } } ... on Error { code message } } }`;

type Meter = { name: string; limit: number; period: 'DAY' | 'MONTH' | 'LIFETIME'; overage?: number };

async function meteredLicense(meters: Meter[]) {
  const r = await admin(app, CREATE, { input: { tier: 'pro', features: [], maxSeats: 1, meters } });
  const created = r.data?.createLicense;
  if (created?.__typename !== 'LicenseCreated') throw new Error(`createLicense failed: ${JSON.stringify(r)}`);
  return { id: created.license.id as string, key: created.key as string };
}

export const RECORD = `mutation($input: RecordUsageInput!) { recordUsage(input: $input) {
  __typename
  ... on UsageRecorded { meter { name used limit remaining periodEndsAt } }
  ... on MeterExhausted { code meter { name used limit remaining periodEndsAt } }
  ... on Error { code message } } }`;

async function record(licenseKey: string, meter: string, amount: number, idempotencyKey: string, metadata?: unknown) {
  const r = await gql(app, RECORD, { input: { licenseKey, meter, amount, idempotencyKey, metadata } });
  if (!r.data) throw new Error(JSON.stringify(r));
  return r.data.recordUsage;
}

const METERS = `query($id: ID!) { license(id: $id) { meters { name used limit remaining periodEndsAt } } }`;
const meters = async (id: string) => (await admin(app, METERS, { id })).data?.license.meters;

const eventsOf = async (licenseId: string, type: string) =>
  (await app.services.db.select().from(webhookEvents).where(eq(webhookEvents.type, type))).filter(
    (e) => (e.data as { license: { id: string } }).license.id === licenseId,
  );

describe('recordUsage', () => {
  it('records exactly 500 of 1,000 calls racing on a limit of 500, and a replay of all 1,000 keys changes nothing', async () => {
    const license = await meteredLicense([{ name: 'exports', limit: 500, period: 'MONTH' }]);
    const keys = Array.from({ length: 1000 }, (_, i) => `export-${i}`);
    // The store's contract suite runs all 1,000 at once; through the API they go in waves of 250,
    // since all at once a loaded machine answered some SERVICE_UNAVAILABLE (a store call past its timeout).
    const waves = async () => {
      const answers = [];
      for (let i = 0; i < keys.length; i += 250) answers.push(...(await Promise.all(keys.slice(i, i + 250).map((key) => record(license.key, 'exports', 1, key)))));
      return answers;
    };
    const first = await waves();
    expect(first.filter((r) => r.__typename === 'UsageRecorded')).toHaveLength(500);
    expect(first.filter((r) => r.__typename === 'MeterExhausted' && r.code === 'METER_EXHAUSTED')).toHaveLength(500);
    expect(new Set(first.flatMap((r) => (r.__typename === 'UsageRecorded' ? [r.meter.used] : []))).size).toBe(500);

    const replay = await waves();
    expect(replay).toEqual(first);
    expect((await meters(license.id))[0]).toMatchObject({ name: 'exports', used: 500, limit: 500, remaining: 0 });

    await app.services.meterUsage.flush();
    const rows = await app.services.db.select().from(meterUsage).where(eq(meterUsage.licenseId, license.id));
    expect(rows).toHaveLength(500);
    expect(rows.reduce((sum, row) => sum + row.amount, 0)).toBe(500);
    // 2,000 requests in process, on a machine whose two cores other suites share.
  }, 60_000);

  it('takes overage past the limit and says how much is left', async () => {
    const license = await meteredLicense([{ name: 'renders', limit: 10, period: 'DAY', overage: 5 }]);
    expect(await record(license.key, 'renders', 12, 'a')).toMatchObject({ __typename: 'UsageRecorded', meter: { used: 12, remaining: 3 } });
    expect(await record(license.key, 'renders', 4, 'b')).toMatchObject({ __typename: 'MeterExhausted', meter: { used: 12, remaining: 3 } });
    expect(await record(license.key, 'renders', 3, 'c')).toMatchObject({ __typename: 'UsageRecorded', meter: { used: 15, remaining: 0 } });
  });

  it('starts a DAY meter again at midnight UTC and a MONTH meter on the first, by the services’ clock', async () => {
    clock.freeze(Date.UTC(2026, 0, 31, 23, 59, 30));
    const license = await meteredLicense([
      { name: 'daily', limit: 3, period: 'DAY' },
      { name: 'monthly', limit: 100, period: 'MONTH' },
      { name: 'ever', limit: 100, period: 'LIFETIME' },
    ]);
    for (const name of ['daily', 'monthly', 'ever']) await record(license.key, name, 3, `${name}-1`);
    expect(await record(license.key, 'daily', 1, 'daily-2')).toMatchObject({ __typename: 'MeterExhausted' });
    expect(await meters(license.id)).toEqual([
      { name: 'daily', used: 3, limit: 3, remaining: 0, periodEndsAt: '2026-02-01T00:00:00.000Z' },
      { name: 'monthly', used: 3, limit: 100, remaining: 97, periodEndsAt: '2026-02-01T00:00:00.000Z' },
      { name: 'ever', used: 3, limit: 100, remaining: 97, periodEndsAt: null },
    ]);

    clock.advance(MINUTE);
    expect(await record(license.key, 'daily', 1, 'daily-3')).toMatchObject({
      __typename: 'UsageRecorded',
      meter: { used: 1, periodEndsAt: '2026-02-02T00:00:00.000Z' },
    });
    expect(await meters(license.id)).toEqual([
      { name: 'daily', used: 1, limit: 3, remaining: 2, periodEndsAt: '2026-02-02T00:00:00.000Z' },
      { name: 'monthly', used: 0, limit: 100, remaining: 100, periodEndsAt: '2026-03-01T00:00:00.000Z' },
      { name: 'ever', used: 3, limit: 100, remaining: 97, periodEndsAt: null },
    ]);
    // A key of yesterday still answers its first answer today.
    expect(await record(license.key, 'daily', 1, 'daily-1')).toMatchObject({ __typename: 'UsageRecorded', meter: { used: 3 } });
  });

  it('announces 80, 90 and 100 % once each per period and the first refusal once, with the meter', async () => {
    clock.freeze(Date.UTC(2026, 5, 10, 12));
    const license = await meteredLicense([{ name: 'calls', limit: 10, period: 'DAY' }]);
    for (let i = 0; i < 12; i++) await record(license.key, 'calls', 1, `call-${i}`);
    for (let i = 0; i < 12; i++) await record(license.key, 'calls', 1, `call-${i}`);
    await app.services.meterUsage.flush();
    const thresholds = await eventsOf(license.id, 'meter.threshold');
    expect(thresholds.map((e) => e.data.threshold).sort()).toEqual([100, 80, 90]);
    expect(thresholds.find((e) => e.data.threshold === 90)?.data.meter).toMatchObject({
      name: 'calls',
      used: 9,
      limit: 10,
      remaining: 1,
      period: 'D2026-06-10',
      periodEndsAt: '2026-06-11T00:00:00.000Z',
    });
    const exhausted = await eventsOf(license.id, 'meter.exhausted');
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]!.data).toMatchObject({ amount: 1, meter: { used: 10, remaining: 0 } });

    clock.advance(24 * 60 * MINUTE);
    for (let i = 0; i < 11; i++) await record(license.key, 'calls', 1, `next-day-${i}`);
    await app.services.meterUsage.flush();
    expect(await eventsOf(license.id, 'meter.threshold')).toHaveLength(6);
    expect(await eventsOf(license.id, 'meter.exhausted')).toHaveLength(2);
  });

  it('writes each usage to Postgres once, with its metadata, period and running total', async () => {
    clock.freeze(Date.UTC(2026, 2, 3, 8));
    const license = await meteredLicense([{ name: 'pages', limit: 100, period: 'MONTH' }]);
    await record(license.key, 'pages', 7, 'job-1', { document: 'q1-report.pdf', printer: 'lobby' });
    await record(license.key, 'pages', 7, 'job-1', { document: 'something else' });
    await record(license.key, 'pages', 2, 'job-2');
    await app.services.meterUsage.flush();
    const rows = await app.services.db.select().from(meterUsage).where(eq(meterUsage.licenseId, license.id));
    expect(rows.sort((a, b) => a.used - b.used)).toEqual([
      expect.objectContaining({
        meter: 'pages',
        period: 'M2026-03',
        amount: 7,
        used: 7,
        idempotencyKey: 'job-1',
        metadata: { document: 'q1-report.pdf', printer: 'lobby' },
        recordedAt: new Date(Date.UTC(2026, 2, 3, 8)),
      }),
      expect.objectContaining({ amount: 2, used: 9, idempotencyKey: 'job-2', metadata: null }),
    ]);
  });

  it('loses no recorded usage when Redis loses the license: counts and keys come back from Postgres', async () => {
    const license = await meteredLicense([{ name: 'builds', limit: 10, period: 'DAY' }]);
    await record(license.key, 'builds', 4, 'b1');
    await record(license.key, 'builds', 3, 'b2');
    // Not flushed yet: the rebuild writes what this instance still holds before it reads.
    const keys = await redis.keys(`lh:{${license.id}}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);

    expect(await record(license.key, 'builds', 3, 'b2')).toMatchObject({ __typename: 'UsageRecorded', meter: { used: 7 } });
    expect(await record(license.key, 'builds', 3, 'b3')).toMatchObject({ __typename: 'UsageRecorded', meter: { used: 10 } });
    expect(await record(license.key, 'builds', 1, 'b4')).toMatchObject({ __typename: 'MeterExhausted' });
    await app.services.meterUsage.flush();
    const rows = await app.services.db
      .select()
      .from(meterUsage)
      .where(and(eq(meterUsage.licenseId, license.id), eq(meterUsage.meter, 'builds')));
    expect(rows.map((r) => r.idempotencyKey).sort()).toEqual(['b1', 'b2', 'b3']);
  });

  it('reports the meters with validateLicense, and keeps the same key of two licenses apart', async () => {
    const a = await meteredLicense([{ name: 'seats-hours', limit: 40, period: 'LIFETIME' }]);
    const b = await meteredLicense([{ name: 'seats-hours', limit: 40, period: 'LIFETIME' }]);
    await record(a.key, 'seats-hours', 5, 'shared-key');
    expect(await record(b.key, 'seats-hours', 8, 'shared-key')).toMatchObject({ meter: { used: 8 } });
    const r = await gql(app, `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { code meters { name used remaining } } }`, {
      input: { licenseKey: a.key },
    });
    expect(r.data?.validateLicense).toEqual({ code: 'VALID', meters: [{ name: 'seats-hours', used: 5, remaining: 35 }] });
  });

  it('applies changed meters at once: a raised limit takes more, a removed meter is not found', async () => {
    const license = await meteredLicense([{ name: 'a', limit: 2, period: 'DAY' }]);
    await record(license.key, 'a', 2, 'k1');
    expect(await record(license.key, 'a', 1, 'k2')).toMatchObject({ __typename: 'MeterExhausted' });
    const UPDATE = `mutation($input: UpdateLicenseInput!) { updateLicense(input: $input) { __typename } }`;
    await admin(app, UPDATE, { input: { id: license.id, meters: [{ name: 'a', limit: 5, period: 'DAY' }, { name: 'b', limit: 1, period: 'MONTH' }] } });
    expect(await record(license.key, 'a', 1, 'k3')).toMatchObject({ __typename: 'UsageRecorded', meter: { used: 3, limit: 5 } });
    await admin(app, UPDATE, { input: { id: license.id, meters: [{ name: 'b', limit: 1, period: 'MONTH' }] } });
    expect(await record(license.key, 'a', 1, 'k4')).toMatchObject({ __typename: 'MeterNotFound', code: 'NOT_FOUND' });
    expect((await meters(license.id)).map((m: { name: string }) => m.name)).toEqual(['b']);
  });
});
