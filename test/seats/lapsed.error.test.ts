/**
 * A lease past its expiry, through the whole stack: a machine that acquired again after its
 * lease lapsed holds one seat however its old session is heartbeat, released or swept, and a
 * sweep inside the revive window leaves the lease revivable and its session open in Postgres.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { seatSessions } from '../../src/db/schema.ts';
import { sweepExpiredSessions } from '../../src/services/seats/sweeper.ts';
import { acquire, heartbeat, release, sleep, startApp } from '../support/harness.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let owner: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  app = await startApp();
  owner = await seedOrganization(app);
});
afterAll(() => app.close());

/** Leases of 1 s (the shortest) that may be revived for a minute, with seats to spare. */
const lapsingLicense = (maxSeats = 3) => createLicenseAs(app, owner.token, { maxSeats, leaseSeconds: 1, reviveSeconds: 60 });

const untilLapsed = (granted: { session: { expiresAt: string } }) =>
  sleep(new Date(granted.session.expiresAt).getTime() - Date.now() + 100);

const used = async (licenseId: string) => (await app.services.seats.count(licenseId))?.used;

/** A machine whose first lease lapsed and which then acquired again: its old and its new session. */
async function reacquired(licenseKey: string, fingerprint: string) {
  const old = await acquire(app, licenseKey, fingerprint);
  expect(old.__typename).toBe('SeatGranted');
  await untilLapsed(old);
  const current = await acquire(app, licenseKey, fingerprint);
  expect(current).toMatchObject({ __typename: 'SeatGranted', seats: { used: 1 } });
  expect(current.session.id).not.toBe(old.session.id);
  return { old: old.session.id as string, current: current.session.id as string };
}

describe('a machine that acquired again after its lease lapsed', () => {
  it('cannot revive its old session inside the revive window: one machine holds one seat', async () => {
    const license = await lapsingLicense();
    const { old, current } = await reacquired(license.key, 'moved-on');
    expect(await heartbeat(app, license.key, old)).toMatchObject({ __typename: 'SessionExpired', code: 'SESSION_EXPIRED' });
    expect(await used(license.id)).toBe(1);
    expect(await heartbeat(app, license.key, current)).toMatchObject({ __typename: 'SeatRenewed', session: { id: current } });
    expect(await used(license.id)).toBe(1);
  });

  it('keeps its new session when the old one is released: acquiring again renews the new one', async () => {
    const license = await lapsingLicense();
    const { old, current } = await reacquired(license.key, 'released-old');
    expect(await release(app, license.key, old)).toMatchObject({ __typename: 'SeatReleased', session: { id: old, endReason: 'EXPIRED' } });
    const again = await acquire(app, license.key, 'released-old');
    expect(again).toMatchObject({ __typename: 'SeatGranted', session: { id: current }, seats: { used: 1 } });
    expect(await used(license.id)).toBe(1);
  });
});

describe('a sweep inside the revive window', () => {
  it('leaves the lapsed lease revivable and its session open', async () => {
    const license = await lapsingLicense(1);
    const granted = await acquire(app, license.key, 'swept');
    await untilLapsed(granted);
    await sweepExpiredSessions(app.services);
    const [row] = await app.services.db.select().from(seatSessions).where(eq(seatSessions.id, granted.session.id));
    expect(row).toMatchObject({ endedAt: null, endReason: null });
    expect(await heartbeat(app, license.key, granted.session.id)).toMatchObject({
      __typename: 'SeatRenewed',
      session: { id: granted.session.id },
    });
    expect(await used(license.id)).toBe(1);
  });
});
