/**
 * API-key usage: counted per key and UTC day in the shared store (Redis, or in-process when
 * embedded), flushed to Postgres, and read back per key and per tier.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { apiKeyUsage as usageTable } from '../../src/db/schema.ts';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createMemoryUsageStore } from '../../src/stores/usage/memory.ts';
import { createRedisUsageStore } from '../../src/stores/usage/redis.ts';
import type { UsageStore } from '../../src/stores/usage/contract.ts';
import { createApiKey } from '../../src/services/apiKeys/management.ts';
import type { Actor, ServiceContext } from '../../src/services/context.ts';
import { SCOPES } from '../../src/services/principals.ts';
import type { UsageEvent } from '../../src/services/context.ts';
import { unwrap } from '../../src/services/errors.ts';
import { latencyBucket, latencyQuantile } from '../../src/services/usage/latency.ts';
import { createUsageRecorder } from '../../src/services/usage/recording.ts';
import { apiKeyUsage } from '../../src/services/usage/reporting.ts';
import { instanceServices } from '../support/apiKeys.ts';
import { REDIS_URL, startApp } from '../support/harness.ts';
import { freshOrganization } from '../support/organizations.ts';

const redis = await connectRedis(REDIS_URL);
let app: App;
let services: ServiceContext;
beforeAll(async () => {
  app = await startApp();
  services = instanceServices(app, { usageStore: createRedisUsageStore(redis) });
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
});

async function keyOf(actor: Actor, tier: string) {
  const result = await createApiKey(services, actor, { name: `${tier} key`, environment: 'live', scopes: ['licenses:read'], tier }, SCOPES);
  if (!result.ok) throw result.error;
  return result.value.apiKey;
}

const event = (key: { id: string; orgId: string; tier: string }, overrides: Partial<UsageEvent> = {}): UsageEvent => ({
  orgId: key.orgId,
  apiKeyId: key.id,
  tier: key.tier,
  clientIp: '203.0.113.1',
  latencyMs: 20,
  error: false,
  rateLimited: false,
  ...overrides,
});

const today = () => new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
const tomorrow = () => new Date(today().getTime() + 86_400_000);

describe('the latency histogram', () => {
  it('reads percentiles within 5 % above the true value', () => {
    const histogram = new Map<number, number>();
    for (let ms = 1; ms <= 1000; ms++) histogram.set(latencyBucket(ms), (histogram.get(latencyBucket(ms)) ?? 0) + 1);
    const p50 = latencyQuantile(histogram, 0.5)!;
    const p95 = latencyQuantile(histogram, 0.95)!;
    expect(p50).toBeGreaterThanOrEqual(500);
    expect(p50).toBeLessThanOrEqual(525);
    expect(p95).toBeGreaterThanOrEqual(950);
    expect(p95).toBeLessThanOrEqual(998);
    expect(latencyQuantile(new Map(), 0.5)).toBeNull();
  });
});

describe('API-key usage', () => {
  it('counts requests, errors, rate-limit hits, distinct addresses and latency per key, and sums them per tier', async () => {
    const actor = await freshOrganization(app);
    const pro = await keyOf(actor, 'pro');
    const standard = await keyOf(actor, 'standard');
    const otherPro = await keyOf(actor, 'pro');
    for (let i = 0; i < 100; i++) {
      services.usage.record(
        event(pro, { clientIp: `198.51.100.${i % 10}`, latencyMs: i < 90 ? 10 : 200, error: i % 25 === 0, rateLimited: i >= 98 }),
      );
    }
    for (let i = 0; i < 3; i++) services.usage.record(event(standard, { latencyMs: 50 }));
    services.usage.record(event(otherPro, { clientIp: '192.0.2.1' }));
    await services.usage.flush();

    const report = unwrap(await apiKeyUsage(services, actor.orgId, today(), tomorrow()));
    expect(report.firstDay).toBe(report.lastDay);
    const byId = new Map(report.keys.map((k) => [k.apiKey.id, k]));
    expect(byId.get(pro.id)).toMatchObject({ requests: 100, errors: 4, rateLimited: 2, uniqueConsumers: 10 });
    expect(byId.get(pro.id)!.p50Ms).toBeGreaterThanOrEqual(10);
    expect(byId.get(pro.id)!.p50Ms).toBeLessThanOrEqual(11);
    expect(byId.get(pro.id)!.p95Ms).toBeGreaterThanOrEqual(200);
    expect(byId.get(pro.id)!.p95Ms).toBeLessThanOrEqual(210);
    expect(byId.get(standard.id)).toMatchObject({ requests: 3, errors: 0, uniqueConsumers: 1 });
    expect(report.keys[0]!.apiKey.id).toBe(pro.id);
    expect(report.tiers).toEqual([
      expect.objectContaining({ tier: 'pro', activeKeys: 2, requests: 101, errors: 4, rateLimited: 2, uniqueConsumers: 11 }),
      expect.objectContaining({ tier: 'standard', activeKeys: 1, requests: 3, uniqueConsumers: 1 }),
    ]);
  });

  it('adds up what several instances saw, and flushing again changes nothing', async () => {
    const actor = await freshOrganization(app);
    const key = await keyOf(actor, 'standard');
    const store = createRedisUsageStore(redis);
    const a = createUsageRecorder(store, app.services.db, app.services.clock);
    const b = createUsageRecorder(store, app.services.db, app.services.clock);
    for (let i = 0; i < 7; i++) a.record(event(key, { clientIp: '192.0.2.1' }));
    for (let i = 0; i < 5; i++) b.record(event(key, { clientIp: '192.0.2.2' }));
    await a.flush();
    await b.flush();
    await a.flush();
    const rows = await app.services.db
      .select()
      .from(usageTable)
      .where(and(eq(usageTable.apiKeyId, key.id)));
    expect(rows).toEqual([expect.objectContaining({ requests: 12, uniqueIps: 2, tier: 'standard', orgId: actor.orgId })]);
  });

  it('keeps each UTC day apart and reports every day that overlaps the range', async () => {
    const actor = await freshOrganization(app);
    const key = await keyOf(actor, 'standard');
    const day1 = new Date('2030-03-01T23:59:00Z');
    const day2 = new Date('2030-03-02T00:01:00Z');
    for (let i = 0; i < 2; i++) services.usage.record(event(key, { at: day1, clientIp: '192.0.2.1' }));
    for (let i = 0; i < 3; i++) services.usage.record(event(key, { at: day2, clientIp: `192.0.2.${i}` }));
    await services.usage.flush();

    const both = unwrap(await apiKeyUsage(services, actor.orgId, new Date('2030-03-01T12:00:00Z'), new Date('2030-03-02T12:00:00Z')));
    expect(both.keys[0]).toMatchObject({ requests: 5, uniqueConsumers: 3 });
    expect(both.keys[0]!.days.map((d) => [d.day, d.requests])).toEqual([
      ['2030-03-01', 2],
      ['2030-03-02', 3],
    ]);
    const first = unwrap(await apiKeyUsage(services, actor.orgId, new Date('2030-03-01T00:00:00Z'), new Date('2030-03-02T00:00:00Z')));
    expect(first).toMatchObject({ firstDay: '2030-03-01', lastDay: '2030-03-01', keys: [expect.objectContaining({ requests: 2 })] });
  });

  it('shows one organization nothing of another’s usage', async () => {
    const owner = await freshOrganization(app);
    const other = await freshOrganization(app);
    const key = await keyOf(owner, 'standard');
    services.usage.record(event(key));
    await services.usage.flush();
    expect(unwrap(await apiKeyUsage(services, other.orgId, today(), tomorrow())).keys).toEqual([]);
    expect(unwrap(await apiKeyUsage(services, owner.orgId, today(), tomorrow())).keys).toHaveLength(1);
  });

  it('refuses an empty or reversed range and one longer than 366 days', async () => {
    const actor = await freshOrganization(app);
    expect(await apiKeyUsage(services, actor.orgId, tomorrow(), today())).toMatchObject({
      ok: false,
      error: { code: 'INVALID_INPUT', field: 'from' },
    });
    expect(await apiKeyUsage(services, actor.orgId, new Date('2020-01-01T00:00:00Z'), new Date('2021-01-03T00:00:00Z'))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_INPUT', field: 'to' },
    });
  });
});

describe.each<[string, () => UsageStore]>([
  ['redis', () => createRedisUsageStore(redis)],
  ['memory', () => createMemoryUsageStore()],
])('the %s usage store', (_name, make) => {
  const delta = (apiKeyId: string, ips: string[], requests = ips.length) => ({
    orgId: 'org_x',
    apiKeyId,
    tier: 'pro',
    day: '2031-01-01',
    requests,
    errors: 1,
    rateLimited: 0,
    clientIps: new Set(ips),
    latency: new Map([[3, requests]]),
  });

  it('adds deltas up, counts distinct addresses once, and hands each changed entry out once', async () => {
    const store = make();
    const id = `key_${crypto.randomUUID()}`;
    await store.add([delta(id, ['192.0.2.1', '192.0.2.2'])]);
    await store.add([delta(id, ['192.0.2.2', '192.0.2.3'])]);
    const mine = async () => (await store.takeChanged(10_000)).filter((t) => t.apiKeyId === id);
    expect(await mine()).toEqual([
      {
        orgId: 'org_x',
        apiKeyId: id,
        tier: 'pro',
        day: '2031-01-01',
        requests: 4,
        errors: 2,
        rateLimited: 0,
        uniqueClientIps: 3,
        latency: new Map([[3, 4]]),
      },
    ]);
    expect(await mine()).toEqual([]);
    await store.markChanged([{ apiKeyId: id, day: '2031-01-01' }]);
    expect((await mine())[0]?.requests).toBe(4);
  });
});
