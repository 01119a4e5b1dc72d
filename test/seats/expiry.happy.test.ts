/** Expiry: exact in the count without a sweeper, then recorded once in Postgres by the sweeper. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, seatSessions } from '../../src/db/schema.ts';
import { sweepExpiredSessions } from '../../src/services/seats/sweeper.ts';
import { acquire, createLicense, heartbeat, release, sleep, startApp } from '../support/harness.ts';

let app: App;
let second: App;
beforeAll(async () => {
  [app, second] = await Promise.all([startApp(), startApp()]);
});
afterAll(async () => {
  await Promise.all([app.close(), second.close()]);
});

describe('lease expiry', () => {
  it('frees the seat within the second after expiry with no sweeper, and heartbeat then answers SESSION_EXPIRED', async () => {
    const license = await createLicense(app, { maxSeats: 1, leaseSeconds: 1 });
    const granted = await acquire(app, license.key, 'sleepy');
    const expiresAt = new Date(granted.session.expiresAt).getTime();
    expect((await app.services.seats.count(license.id))?.used).toBe(1);
    await sleep(expiresAt - Date.now() + 50);
    expect((await app.services.seats.count(license.id))?.used).toBe(0);
    expect(await heartbeat(app, license.key, granted.session.id)).toMatchObject({ __typename: 'SessionExpired', code: 'SESSION_EXPIRED' });
    expect((await acquire(app, license.key, 'newcomer')).__typename).toBe('SeatGranted');
  });

  it('marks the session EXPIRED exactly once while two sweepers race', async () => {
    const license = await createLicense(app, { maxSeats: 3, leaseSeconds: 1 });
    const sessions = await Promise.all(['s1', 's2', 's3'].map((fp) => acquire(app, license.key, fp)));
    await sleep(1100);
    await Promise.all([sweepExpiredSessions(app.services), sweepExpiredSessions(second.services), sweepExpiredSessions(app.services)]);
    for (const s of sessions) {
      const [row] = await app.services.db.select().from(seatSessions).where(eq(seatSessions.id, s.session.id));
      expect(row).toMatchObject({ endReason: 'EXPIRED' });
      expect(row!.endedAt!.toISOString()).toBe(new Date(Math.floor(new Date(s.session.expiresAt).getTime())).toISOString());
      const audits = await app.services.db.select().from(auditLogs).where(eq(auditLogs.resourceId, s.session.id));
      expect(audits.map((a) => a.action).sort()).toEqual(['seat.acquired', 'seat.expired']);
    }
  });

  it('leaves live sessions alone and teaches Postgres their newer expiry', async () => {
    const license = await createLicense(app, { maxSeats: 1, leaseSeconds: 2 });
    const granted = await acquire(app, license.key, 'alive');
    await sleep(1000);
    await heartbeat(app, license.key, granted.session.id); // buffered, not yet in Postgres
    await sleep(1100);
    await sweepExpiredSessions(second.services);
    const [row] = await app.services.db.select().from(seatSessions).where(eq(seatSessions.id, granted.session.id));
    expect(row!.endedAt).toBeNull();
    expect(row!.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it('answers a release after expiry with the session ended as EXPIRED', async () => {
    const license = await createLicense(app, { maxSeats: 1, leaseSeconds: 1 });
    const granted = await acquire(app, license.key, 'late');
    await sleep(1100);
    expect(await release(app, license.key, granted.session.id)).toMatchObject({ session: { endReason: 'EXPIRED' }, seats: { used: 0 } });
  });
});
