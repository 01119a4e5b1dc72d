/** Limits hold under load: hundreds of clients at once, through the whole stack. */
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { machines, seatSessions } from '../../src/db/schema.ts';
import { ADMIN_TOKEN, acquire, createLicense, startApp } from '../support/harness.ts';
import { collect, serve, wsClient } from '../support/server.ts';

let app: App;
let server: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  app = await startApp({}, {});
  server = await serve(app);
});
afterAll(async () => {
  await server.close();
  await app.close();
});

const SUBSCRIBE = `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used max } }`;

async function openSessions(licenseId: string) {
  return app.services.db
    .select()
    .from(seatSessions)
    .where(and(eq(seatSessions.licenseId, licenseId), isNull(seatSessions.endedAt)));
}

describe('under concurrency', () => {
  it('grants exactly maxSeats to 500 concurrent clients, and Redis, Postgres and the subscription agree', async () => {
    const license = await createLicense(app, { maxSeats: 10 });
    const client = wsClient(server.wsUrl, ADMIN_TOKEN);
    const feed = collect<{ seatCountChanged: { used: number } }>(client, SUBSCRIBE, { id: license.id });
    await feed.until(1);

    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => acquire(app, license.key, `machine-${i}`)));
    const granted = results.filter((r) => r.__typename === 'SeatGranted');
    expect(granted).toHaveLength(10);
    expect(results.filter((r) => r.__typename === 'NoSeatsAvailable')).toHaveLength(490);
    expect(new Set(granted.map((r) => r.session.id)).size).toBe(10);

    expect((await app.services.seats.count(license.id))?.used).toBe(10);
    expect(await openSessions(license.id)).toHaveLength(10);
    const events = await feed.until(11);
    expect(events.map((e) => e.seatCountChanged.used)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    feed.dispose();
    await client.dispose();
  });

  it('activates exactly maxMachines machines when seats outnumber them', async () => {
    const license = await createLicense(app, { maxSeats: 50, maxMachines: 3 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => acquire(app, license.key, `box-${i}`)));
    expect(results.filter((r) => r.__typename === 'SeatGranted')).toHaveLength(3);
    expect(results.filter((r) => r.__typename === 'TooManyMachines')).toHaveLength(297);
    expect(await openSessions(license.id)).toHaveLength(3);
    expect(await app.services.db.select().from(machines).where(eq(machines.licenseId, license.id))).toHaveLength(3);
  });

  it('gives one session to one machine acquiring 100 times at once', async () => {
    const license = await createLicense(app, { maxSeats: 5 });
    const results = await Promise.all(Array.from({ length: 100 }, () => acquire(app, license.key, 'the-same-machine')));
    expect(new Set(results.map((r) => r.session?.id)).size).toBe(1);
    expect((await app.services.seats.count(license.id))?.used).toBe(1);
  });
});
