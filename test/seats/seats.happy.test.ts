/** The seat path as a client app uses it, through GraphQL against real Postgres and Redis. */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, seatSessions } from '../../src/db/schema.ts';
import { acquire, admin, createLicense, heartbeat, release, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

describe('acquire, heartbeat, release', () => {
  it('grants a seat with a lease that verifies against the published JWKS', async () => {
    const license = await createLicense(app, { maxSeats: 2, features: ['export', 'cloud'] });
    const granted = await acquire(app, license.key, 'machine-1');
    expect(granted.__typename).toBe('SeatGranted');
    expect(granted.seats).toEqual({ used: 1, max: 2 });

    const jwks = await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json();
    const { payload, protectedHeader } = await jwtVerify(granted.lease.token, createLocalJWKSet(jwks), { issuer: 'leasehold' });
    expect(protectedHeader.kid).toBe(granted.lease.keyId);
    expect(payload).toMatchObject({
      sub: granted.session.id,
      lic: license.id,
      fp: 'machine-1',
      tier: 'pro',
      features: ['export', 'cloud'],
    });
    expect(payload.exp! * 1000).toBeGreaterThan(Date.now() + 300_000);
  });

  it('records the session and an audit row in Postgres', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const granted = await acquire(app, license.key, 'machine-audit');
    const [row] = await app.services.db.select().from(seatSessions).where(eq(seatSessions.id, granted.session.id));
    expect(row).toMatchObject({ licenseId: license.id, fingerprint: 'machine-audit', endedAt: null });
    const audits = await app.services.db.select().from(auditLogs).where(eq(auditLogs.resourceId, granted.session.id));
    expect(audits.map((a) => a.action)).toEqual(['seat.acquired']);
  });

  it('keeps one session and one seat when the same machine acquires twice', async () => {
    const license = await createLicense(app, { maxSeats: 3 });
    const first = await acquire(app, license.key, 'twice');
    const second = await acquire(app, license.key, 'twice');
    expect(second.session.id).toBe(first.session.id);
    expect(second.seats.used).toBe(1);
    const rows = await app.services.db.select().from(seatSessions).where(eq(seatSessions.licenseId, license.id));
    expect(rows).toHaveLength(1);
  });

  it('extends the lease on heartbeat with a freshly signed token', async () => {
    const license = await createLicense(app, { maxSeats: 1, leaseSeconds: 60 });
    const granted = await acquire(app, license.key, 'beating');
    await new Promise((r) => setTimeout(r, 1100));
    const renewed = await heartbeat(app, license.key, granted.session.id);
    expect(renewed.__typename).toBe('SeatRenewed');
    expect(new Date(renewed.lease.expiresAt).getTime()).toBeGreaterThan(new Date(granted.lease.expiresAt).getTime());
    expect(renewed.lease.token).not.toBe(granted.lease.token);
  });

  it('writes heartbeats to Postgres in batches, not on the request', async () => {
    const license = await createLicense(app, { maxSeats: 1, leaseSeconds: 60 });
    const granted = await acquire(app, license.key, 'batched');
    await new Promise((r) => setTimeout(r, 20));
    const renewed = await heartbeat(app, license.key, granted.session.id);
    const read = async () => (await app.services.db.select().from(seatSessions).where(eq(seatSessions.id, granted.session.id)))[0]!;
    expect((await read()).expiresAt.toISOString()).toBe(granted.session.expiresAt);
    await app.services.heartbeats.flush();
    expect((await read()).expiresAt.toISOString()).toBe(renewed.session.expiresAt);
  });

  it('releases a seat and answers the same to a second release', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const granted = await acquire(app, license.key, 'leaving');
    const first = await release(app, license.key, granted.session.id);
    expect(first).toMatchObject({ __typename: 'SeatReleased', session: { endReason: 'RELEASED' }, seats: { used: 0 } });
    const second = await release(app, license.key, granted.session.id);
    expect(second).toEqual(first);
    expect((await acquire(app, license.key, 'next')).__typename).toBe('SeatGranted');
  });

  it('shows the live count on the license', async () => {
    const license = await createLicense(app, { maxSeats: 4 });
    await acquire(app, license.key, 'a');
    await acquire(app, license.key, 'b');
    const result = await admin(app, `query($id: ID!) { license(id: $id) { id keyHint seats { used max } } }`, { id: license.id });
    expect(result.data?.license).toEqual({ id: license.id, keyHint: license.key.slice(-4), seats: { used: 2, max: 4 } });
  });

  it('applies a license update to the seat path at once', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await acquire(app, license.key, 'first');
    expect((await acquire(app, license.key, 'second')).__typename).toBe('NoSeatsAvailable');
    const updated = await admin(
      app,
      `mutation($input: UpdateLicenseInput!) { updateLicense(input: $input) { __typename ... on LicenseUpdated { license { maxSeats } } } }`,
      { input: { id: license.id, maxSeats: 2 } },
    );
    expect(updated.data?.updateLicense).toEqual({ __typename: 'LicenseUpdated', license: { maxSeats: 2 } });
    expect((await acquire(app, license.key, 'second')).__typename).toBe('SeatGranted');
  });
});
