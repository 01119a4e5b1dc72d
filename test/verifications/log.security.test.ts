/**
 * The verification log stays inside its organization and its license: another organization's
 * license is no license, a license's log holds none of another's entries, and a forged cursor
 * is refused, not followed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const VALIDATE = `mutation($key: String!) { validateLicense(input: { licenseKey: $key }) { code } }`;
const LOG = `query($licenseId: ID!, $from: DateTime!, $to: DateTime!, $after: String) {
  licenseVerifications(licenseId: $licenseId, from: $from, to: $to, after: $after) { edges { node { result address } } } }`;
const range = () => ({ from: new Date(Date.now() - 60_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });

it("answers another organization's license as no license, and keeps each license's entries to itself", async () => {
  const owner = await seedOrganization(app);
  const stranger = await seedOrganization(app);
  const license = await createLicenseAs(app, owner.token, { maxSeats: 1 });
  const neighbour = await createLicenseAs(app, owner.token, { maxSeats: 1 });
  await gql(app, VALIDATE, { key: license.key }, null, '192.0.2.10');
  await gql(app, VALIDATE, { key: neighbour.key }, null, '192.0.2.20');
  await app.services.verifications.flush();

  for (const licenseId of [license.id, 'lic_0000000000000000000000', "' or 1=1 --"]) {
    const r = await gql(app, LOG, { licenseId, ...range() }, stranger.token);
    expect(r.data?.licenseVerifications ?? null).toBeNull();
    expect(r.errors?.[0]).toMatchObject({
      message: 'No license with this id.',
      extensions: { code: 'BAD_USER_INPUT', field: 'licenseId' },
    });
  }
  const own = await gql(app, LOG, { licenseId: license.id, ...range() }, owner.token);
  expect(own.data?.licenseVerifications.edges).toEqual([{ node: { result: 'VALID', address: '192.0.2.10' } }]);
});

it.each(["1.1' or '1'='1", '9'.repeat(40), '-1.5', 'abc', ''])('refuses the forged cursor %j as bad input', async (after) => {
  const owner = await seedOrganization(app);
  const license = await createLicenseAs(app, owner.token, { maxSeats: 1 });
  const r = await gql(app, LOG, { licenseId: license.id, ...range(), after }, owner.token);
  expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
});
