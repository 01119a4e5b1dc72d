/** Utilization history stays inside its organization: another's license is no license, and the organization's sums are its own. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { HOUR } from '../support/clock.ts';
import { acquire, gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const UTILIZATION = `query($licenseId: ID, $from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
  seatUtilization(licenseId: $licenseId, from: $from, to: $to, granularity: $granularity) { at peakUsed grants } }`;

const range = () => ({ from: new Date(Date.now() - HOUR).toISOString(), to: new Date(Date.now() + HOUR).toISOString() });

it("answers another organization's license as no license, whatever the id, and sums only the caller's own licenses", async () => {
  const owner = await seedOrganization(app);
  const stranger = await seedOrganization(app);
  const license = await createLicenseAs(app, owner.token, { maxSeats: 1 });
  expect((await acquire(app, license.key, 'owned')).__typename).toBe('SeatGranted');
  await app.services.utilization.flush();

  for (const licenseId of [license.id, 'lic_0000000000000000000000', 'not an id', "' or 1=1 --"]) {
    const r = await gql(app, UTILIZATION, { licenseId, ...range(), granularity: 'MINUTE' }, stranger.token);
    expect(r.data?.seatUtilization ?? null).toBeNull();
    expect(r.errors?.[0]).toMatchObject({
      message: 'No license with this id.',
      extensions: { code: 'BAD_USER_INPUT', field: 'licenseId' },
    });
  }
  const theirs = await gql(app, UTILIZATION, { licenseId: null, ...range(), granularity: 'MINUTE' }, stranger.token);
  expect(theirs.data?.seatUtilization).toEqual([]);
  const own = await gql(app, UTILIZATION, { licenseId: null, ...range(), granularity: 'MINUTE' }, owner.token);
  expect(own.data?.seatUtilization).toEqual([{ at: expect.any(String), peakUsed: 1, grants: 1 }]);
});
