/** Outages: Redis losing its data, Postgres going away. Nothing is lost and no seat leaks. */
import { and, eq, isNull } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { seatSessions } from '../../src/db/schema.ts';
import { acquire, createLicense, heartbeat, startApp, startAppBehindProxy } from '../support/harness.ts';
import { startRedisServer } from '../support/redisCluster.ts';
import { seatTerms } from '../support/seatTerms.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

describe('recovery', () => {
  it('rebuilds seats from Postgres after Redis comes back empty', async () => {
    // A Redis server of its own, so flushing it touches no other suite.
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const app = await startApp({ REDIS_URL: server.url });
    cleanup.push(() => app.close());
    const license = await createLicense(app, { maxSeats: 3 });
    const a = await acquire(app, license.key, 'a');
    await acquire(app, license.key, 'b');

    const redis = new Redis(server.url);
    await redis.flushall();
    redis.disconnect();

    expect(await app.services.seats.count(license.id)).toBeUndefined();
    const c = await acquire(app, license.key, 'c');
    expect(c.seats).toEqual({ used: 3, max: 3 });
    expect((await acquire(app, license.key, 'd')).__typename).toBe('NoSeatsAvailable');
    expect((await heartbeat(app, license.key, a.session.id)).__typename).toBe('SeatRenewed');
    const open = await app.services.db
      .select()
      .from(seatSessions)
      .where(and(eq(seatSessions.licenseId, license.id), isNull(seatSessions.endedAt)));
    expect(open).toHaveLength(3);
  });

  it('answers SERVICE_UNAVAILABLE and holds no seat when Postgres is unreachable during acquire', async () => {
    const { app, proxy, close } = await startAppBehindProxy();
    cleanup.push(close);
    const license = await createLicense(app, { maxSeats: 1, maxMachines: 1 });
    expect((await acquire(app, license.key, 'warm')).__typename).toBe('SeatGranted');
    const warm = (await app.services.seats.count(license.id))!;
    await app.services.seats.configure(license.id, seatTerms({ maxSeats: 2, maxMachines: 2, leaseMs: 360_000 }));

    proxy.cut();
    const failed = await acquire(app, license.key, 'during-outage');
    expect(failed.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await app.services.seats.count(license.id))?.used).toBe(warm.used);

    await proxy.restore();
    // The machine the failed acquire activated was forgotten again: it still fits under maxMachines 2.
    // Postgres answers again within moments of the heal (a loaded machine stretches moments).
    await expect
      .poll(async () => (await acquire(app, license.key, 'after-outage')).__typename, { timeout: 10_000, interval: 200 })
      .toBe('SeatGranted');
  });
});
