/** Limits hold under load: hundreds of clients at once, through the whole stack. */
import { and, eq, isNull } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { machines, seatSessions } from '../../src/db/schema.ts';
import { acquire, ADMIN_TOKEN, createLicense } from '../support/harness.ts';
import { collect, servedApp, wsClient } from '../support/server.ts';

const served = servedApp({}, {});

const SUBSCRIBE = `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used max } }`;

async function openSessions(licenseId: string) {
  return served.app.services.db
    .select()
    .from(seatSessions)
    .where(and(eq(seatSessions.licenseId, licenseId), isNull(seatSessions.endedAt)));
}

describe('under concurrency', () => {
  it('grants exactly maxSeats to 500 concurrent clients, and Redis, Postgres and the subscription agree', async () => {
    const license = await createLicense(served.app, { maxSeats: 10 });
    const client = wsClient(served.wsUrl, ADMIN_TOKEN);
    const feed = collect<{ seatCountChanged: { used: number } }>(client, SUBSCRIBE, { id: license.id });
    await feed.until(1);

    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => acquire(served.app, license.key, `machine-${i}`)));
    const granted = results.filter((r) => r.__typename === 'SeatGranted');
    expect(granted).toHaveLength(10);
    expect(results.filter((r) => r.__typename === 'NoSeatsAvailable')).toHaveLength(490);
    expect(new Set(granted.map((r) => r.session.id)).size).toBe(10);

    expect((await served.app.services.seats.count(license.id))?.used).toBe(10);
    expect(await openSessions(license.id)).toHaveLength(10);
    const events = await feed.until(11);
    expect(events.map((e) => e.seatCountChanged.used)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    feed.dispose();
    await client.dispose();
  });

  it('activates exactly maxMachines machines when seats outnumber them', async () => {
    const license = await createLicense(served.app, { maxSeats: 50, maxMachines: 3 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => acquire(served.app, license.key, `box-${i}`)));
    expect(results.filter((r) => r.__typename === 'SeatGranted')).toHaveLength(3);
    expect(results.filter((r) => r.__typename === 'TooManyMachines')).toHaveLength(297);
    expect(await openSessions(license.id)).toHaveLength(3);
    expect(await served.app.services.db.select().from(machines).where(eq(machines.licenseId, license.id))).toHaveLength(3);
  });

  it('gives one session to one machine acquiring 100 times at once', async () => {
    const license = await createLicense(served.app, { maxSeats: 5 });
    const results = await Promise.all(Array.from({ length: 100 }, () => acquire(served.app, license.key, 'the-same-machine')));
    expect(new Set(results.map((r) => r.session?.id)).size).toBe(1);
    expect((await served.app.services.seats.count(license.id))?.used).toBe(1);
  });
});
