/** License lifecycle: each change reaches the seat path at once; suspend and revoke end live sessions. */
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { seatSessions } from '../../src/db/schema.ts';
import { acquire, admin, ADMIN_TOKEN, createLicense, heartbeat } from '../support/harness.ts';
import { collect, servedApp, wsClient } from '../support/server.ts';

const served = servedApp();

const change = (mutation: string, input: Record<string, unknown>) =>
  admin(
    served.app,
    `mutation($input: ${mutation === 'renewLicense' ? 'RenewLicenseInput' : 'LicenseStatusChangeInput'}!) {
    ${mutation}(input: $input) { __typename ... on LicenseUpdated { license { status expiresAt } } ... on Error { code message } } }`,
    { input },
  );

describe('license lifecycle', () => {
  it('suspending ends live sessions, drops the count to 0 and publishes it; reinstating lets clients acquire again', async () => {
    const license = await createLicense(served.app, { maxSeats: 3 });
    const a = await acquire(served.app, license.key, 'a');
    const b = await acquire(served.app, license.key, 'b');
    const client = wsClient(served.wsUrl, ADMIN_TOKEN);
    const feed = collect<{ seatCountChanged: { used: number } }>(
      client,
      `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used } }`,
      { id: license.id },
    );
    await feed.until(1);

    expect((await change('suspendLicense', { id: license.id, reason: 'unpaid invoice' })).data?.suspendLicense).toMatchObject({
      license: { status: 'SUSPENDED' },
    });
    expect((await feed.until(2)).map((e) => e.seatCountChanged.used)).toEqual([2, 0]);
    for (const s of [a, b]) {
      const [row] = await served.app.services.db.select().from(seatSessions).where(eq(seatSessions.id, s.session.id));
      expect(row?.endReason).toBe('REVOKED');
    }
    expect(await acquire(served.app, license.key, 'c')).toMatchObject({ __typename: 'LicenseSuspended', code: 'SUSPENDED' });
    expect(await heartbeat(served.app, license.key, a.session.id)).toMatchObject({ __typename: 'LicenseSuspended' });

    expect((await change('reinstateLicense', { id: license.id })).data?.reinstateLicense).toMatchObject({ license: { status: 'ACTIVE' } });
    expect((await acquire(served.app, license.key, 'c')).__typename).toBe('SeatGranted');
    feed.dispose();
    await client.dispose();
  });

  it('revoking ends sessions for good: a revoked license cannot be reinstated', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    await acquire(served.app, license.key, 'a');
    await change('revokeLicense', { id: license.id });
    expect(await acquire(served.app, license.key, 'a')).toMatchObject({ __typename: 'LicenseRevoked', code: 'REVOKED' });
    expect((await served.app.services.seats.count(license.id))?.used).toBe(0);
    expect((await change('reinstateLicense', { id: license.id })).data?.reinstateLicense).toMatchObject({ __typename: 'InvalidInput' });
  });

  it('renewing an expired license lets clients acquire again', async () => {
    const license = await createLicense(served.app, { maxSeats: 1, expiresAt: new Date(Date.now() + 1500).toISOString() });
    await new Promise((r) => setTimeout(r, 1600));
    expect(await acquire(served.app, license.key, 'a')).toMatchObject({ __typename: 'LicenseExpired', code: 'EXPIRED' });
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    expect((await change('renewLicense', { id: license.id, expiresAt })).data?.renewLicense).toMatchObject({ license: { expiresAt } });
    const granted = await acquire(served.app, license.key, 'a');
    expect(granted.lease.payload.lexp).toBe(Math.floor(new Date(expiresAt).getTime() / 1000));
  });

  it('refuses a renewal into the past', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const r = await change('renewLicense', { id: license.id, expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect(r.data?.renewLicense).toMatchObject({ __typename: 'InvalidInput', code: 'INVALID_INPUT' });
  });

  it('force-releases one session with revokeSession', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const granted = await acquire(served.app, license.key, 'kicked');
    const r = await admin(
      served.app,
      `mutation($input: RevokeSessionInput!) { revokeSession(input: $input) { __typename ... on SessionRevoked { session { endReason } } } }`,
      {
        input: { id: granted.session.id },
      },
    );
    expect(r.data?.revokeSession).toEqual({ __typename: 'SessionRevoked', session: { endReason: 'REVOKED' } });
    expect(await heartbeat(served.app, license.key, granted.session.id)).toMatchObject({
      __typename: 'SessionExpired',
      message: expect.stringContaining('revoked'),
    });
    expect((await acquire(served.app, license.key, 'next')).__typename).toBe('SeatGranted');
  });

  it('lists sessions of a license, active ones first filtered', async () => {
    const license = await createLicense(served.app, { maxSeats: 3 });
    const a = await acquire(served.app, license.key, 'a');
    await acquire(served.app, license.key, 'b');
    await admin(served.app, `mutation($input: RevokeSessionInput!) { revokeSession(input: $input) { __typename } }`, {
      input: { id: a.session.id },
    });
    const r = await admin(
      served.app,
      `query($id: ID!) { active: sessions(licenseId: $id, active: true) { edges { node { fingerprint } } } all: sessions(licenseId: $id) { edges { node { fingerprint } } } }`,
      { id: license.id },
    );
    expect(r.data?.active.edges.map((e: { node: { fingerprint: string } }) => e.node.fingerprint)).toEqual(['b']);
    expect(r.data?.all.edges).toHaveLength(2);
  });
});
