/**
 * A license key carries an HMAC checksum so that a mistyped or forged key is refused by the
 * server alone: a key of the right shape whose checksum is wrong never reaches Postgres. Shown
 * by cutting Postgres away: the forged key is still refused as NOT_FOUND at once, where a genuine
 * key that must be looked up answers SERVICE_UNAVAILABLE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { acquire, gql, heartbeat, release, startAppBehindProxy } from '../support/harness.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

const VALIDATE = `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { valid code license { id } } }`;

let app: App;
let proxy: Awaited<ReturnType<typeof startAppBehindProxy>>['proxy'];
let close: () => Promise<void>;
beforeAll(async () => {
  ({ app, proxy, close } = await startAppBehindProxy());
});
afterAll(() => close());

/** The same key with the last character of its checksum changed: well-formed, but not issued by this server. */
function withWrongChecksum(key: string): string {
  const last = key.at(-1)!;
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

describe('a well-formed license key with a wrong checksum', () => {
  it('is refused as NOT_FOUND on every seat operation without touching Postgres', async () => {
    const owner = await seedOrganization(app);
    const license = await createLicenseAs(app, owner.token, { maxSeats: 1 });
    const untouched = await createLicenseAs(app, owner.token, { maxSeats: 1 });
    const held = await acquire(app, license.key, 'the-machine');
    expect(held.__typename).toBe('SeatGranted');
    const forged = withWrongChecksum(license.key);
    expect(forged).toMatch(/^lhk_[0-9A-Za-z]{33}$/);

    proxy.cut();
    try {
      // A key that must be looked up cannot be while Postgres is away: the cut is real.
      expect((await acquire(app, untouched.key, 'probe')).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

      expect(await acquire(app, forged, 'the-machine')).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
      expect(await heartbeat(app, forged, held.session.id)).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
      expect(await release(app, forged, held.session.id)).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
      const validation = await gql(app, VALIDATE, { input: { licenseKey: forged } });
      expect(validation.errors).toBeUndefined();
      expect(validation.data?.validateLicense).toEqual({ valid: false, code: 'NOT_FOUND', license: null });
    } finally {
      await proxy.restore();
    }

    // The seat the forged key named is held as before.
    expect(await heartbeat(app, license.key, held.session.id)).toMatchObject({
      __typename: 'SeatRenewed',
      session: { id: held.session.id },
    });
    expect((await app.services.seats.count(license.id))?.used).toBe(1);
  });
});
