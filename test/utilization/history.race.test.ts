/**
 * Utilization across server instances: two instances serve one license at once, each buffering
 * its own minute, and the minute Postgres keeps has the peak the seat store saw (the greatest,
 * not a sum or either instance's own) and every grant and denial of both. A graceful stop
 * writes what an instance still holds.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { seatUtilization as utilizationTable } from '../../src/db/schema.ts';
import { movableClock } from '../support/clock.ts';
import { acquire, release, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const clock = movableClock();
let one: App;
let two: App;
beforeAll(async () => {
  [one, two] = await Promise.all([startApp({}, { clock }), startApp({}, { clock })]);
});
afterAll(async () => {
  await Promise.all([one.close(), two.close()]);
});

const SEATS = 120;
const CLIENTS = 300;

const minutesOf = (app: App, licenseId: string) =>
  app.services.db.select().from(utilizationTable).where(eq(utilizationTable.licenseId, licenseId));

it(`keeps the seat store's peak and every grant and denial of ${CLIENTS} clients on two instances in one minute`, async () => {
  const org = await seedOrganization(one);
  const license = await createLicenseAs(one, org.token, { maxSeats: SEATS });
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  clock.freeze(minute + 5_000);
  const answers = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => acquire(i % 2 === 0 ? one : two, license.key, `machine-${i}`)),
  );
  const granted = answers.filter((a) => a.__typename === 'SeatGranted');
  expect(granted).toHaveLength(SEATS);
  expect(answers.filter((a) => a.__typename === 'NoSeatsAvailable')).toHaveLength(CLIENTS - SEATS);
  await Promise.all(granted.map((g, i) => release(i % 2 === 0 ? two : one, license.key, g.session.id)));
  clock.reset();
  await Promise.all([one.services.utilization.flush(), two.services.utilization.flush()]);

  expect(await minutesOf(one, license.id)).toMatchObject([
    { granularity: 'MINUTE', at: new Date(minute), peakUsed: SEATS, maxSeats: SEATS, grants: SEATS, denials: CLIENTS - SEATS, queued: 0 },
  ]);
});

it('writes the minutes an instance still buffers when it stops gracefully', async () => {
  const org = await seedOrganization(one);
  const license = await createLicenseAs(one, org.token, { maxSeats: 2 });
  const stopping = await startApp({}, { background: true });
  expect((await acquire(stopping, license.key, 'before-stop')).__typename).toBe('SeatGranted');
  await stopping.close();
  expect(await minutesOf(one, license.id)).toMatchObject([{ granularity: 'MINUTE', peakUsed: 1, grants: 1 }]);
});
