/** Overage through the API: seats past maxSeats up to the strategy's bound, marked on the session, the lease and in events. */
import { and, eq, sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { seatSessions, webhookEvents } from '../../src/db/schema.ts';
import { admin, createLicense, gql, heartbeat, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename
  ... on SeatGranted { session { id overage } lease { token } seats { used max } }
  ... on Error { code } } }`;

const acquire = async (key: string, fingerprint: string) =>
  (await gql(app, ACQUIRE, { input: { licenseKey: key, fingerprint } })).data?.acquireSeat;

const eventsOf = (licenseId: string, type: string) =>
  app.services.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.type, type), sql`${webhookEvents.data}->'session'->>'licenseId' = ${licenseId}`));

describe('overage', () => {
  it.each([
    ['NONE', 4],
    ['ALLOW_1_25X', 5],
    ['ALLOW_1_5X', 6],
    ['ALLOW_2X', 8],
    ['ALWAYS', 500],
  ] as const)('under %s grants exactly %i seats of 4 to 500 concurrent clients', async (overage, bound) => {
    const license = await createLicense(app, { maxSeats: 4, overage });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => acquire(license.key, `machine-${i}`)));
    const granted = results.filter((r) => r.__typename === 'SeatGranted');
    expect(granted).toHaveLength(bound);
    expect(results.filter((r) => r.code === 'NO_SEATS_AVAILABLE')).toHaveLength(500 - bound);

    const marked = granted.filter((r) => r.session.overage);
    expect(marked).toHaveLength(bound - 4);
    for (const r of granted) expect(decodeJwt(r.lease.token).overage).toBe(r.session.overage);

    const rows = await app.services.db.select().from(seatSessions).where(eq(seatSessions.licenseId, license.id));
    expect(rows.filter((r) => r.overage).map((r) => r.id).sort()).toEqual(marked.map((r) => r.session.id).sort());
    const announced = await eventsOf(license.id, 'seat.overage');
    expect(announced.map((e) => (e.data as { session: { id: string } }).session.id).sort()).toEqual(marked.map((r) => r.session.id).sort());
    expect(await eventsOf(license.id, 'seat.acquired')).toHaveLength(bound);
  }, 60_000);

  it('shows the strategy on the license, keeps the mark on heartbeats, and applies a change at once', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const read = await admin(app, `query($id: ID!) { license(id: $id) { overage } }`, { id: license.id });
    expect(read.data?.license.overage).toBe('NONE');
    expect((await acquire(license.key, 'a')).session.overage).toBe(false);
    expect((await acquire(license.key, 'b')).code).toBe('NO_SEATS_AVAILABLE');

    const updated = await admin(
      app,
      `mutation($input: UpdateLicenseInput!) { updateLicense(input: $input) { ... on LicenseUpdated { license { overage } } } }`,
      { input: { id: license.id, overage: 'ALLOW_2X' } },
    );
    expect(updated.data?.updateLicense.license.overage).toBe('ALLOW_2X');
    const extra = await acquire(license.key, 'b');
    expect(extra).toMatchObject({ session: { overage: true }, seats: { used: 2, max: 1 } });
    const renewed = await heartbeat(app, license.key, extra.session.id);
    expect(decodeJwt(renewed.lease.token).overage).toBe(true);
    expect((await acquire(license.key, 'c')).code).toBe('NO_SEATS_AVAILABLE');
    const count = await admin(app, `query($id: ID!) { license(id: $id) { seats { used max overage } } }`, { id: license.id });
    expect(count.data?.license.seats).toEqual({ used: 2, max: 1, overage: 1 });
  });
});
