/**
 * Each `seat.released` event carries the count that its own release left, as the seat store
 * decided it in that release's step: with hundreds of releases at once, the counts are every
 * number from maxSeats - 1 down to 0 exactly once. A count read again afterwards would repeat.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookEvents } from '../../src/db/schema.ts';
import { acquire, release, startApp } from '../support/harness.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const SEATS = 200;

it(`gives each of ${SEATS} concurrent releases' seat.released event the count its own release left`, async () => {
  const org = await seedOrganization(app);
  const license = await createLicenseAs(app, org.token, { maxSeats: SEATS });
  const granted = await Promise.all(Array.from({ length: SEATS }, (_, i) => acquire(app, license.key, `machine-${i}`)));
  expect(granted.every((g) => g.__typename === 'SeatGranted')).toBe(true);
  const acquiredCounts = granted.map((g) => g.seats.used as number).sort((x, y) => x - y);
  expect(acquiredCounts).toEqual(Array.from({ length: SEATS }, (_, i) => i + 1));

  const released = await Promise.all(granted.map((g) => release(app, license.key, g.session.id)));
  expect(released.every((r) => r.__typename === 'SeatReleased')).toBe(true);

  const events = await app.services.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.orgId, org.orgId), eq(webhookEvents.type, 'seat.released')));
  expect(events).toHaveLength(SEATS);
  const bySession = new Map(
    events.map((e) => [(e.data as { session: { id: string } }).session.id, e.data as { seats: { used: number; max: number } }]),
  );
  // Each event's count is the one its release answered, and together they are every count once.
  for (const [i, g] of granted.entries()) {
    expect(bySession.get(g.session.id)?.seats).toMatchObject({ used: released[i].seats.used, max: SEATS });
  }
  expect(events.map((e) => (e.data as { seats: { used: number } }).seats.used).sort((x, y) => x - y)).toEqual(
    Array.from({ length: SEATS }, (_, i) => i),
  );
});
