/** licenseVerifications refuses what it cannot answer as bad input naming the argument; the log's buffer survives a failed write. */
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

const LOG = `query($licenseId: ID!, $from: DateTime!, $to: DateTime!, $first: Int) {
  licenseVerifications(licenseId: $licenseId, from: $from, to: $to, first: $first) { edges { node { result } } } }`;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

it.each([
  ['from after to', { from: iso(now), to: iso(now - 1000) }, 'from'],
  ['an empty range', { from: iso(now), to: iso(now) }, 'from'],
  ['a page of 0', { from: iso(now - 1000), to: iso(now), first: 0 }, 'first'],
  ['a page past 100', { from: iso(now - 1000), to: iso(now), first: 101 }, 'first'],
])('refuses %s', async (_name, variables, field) => {
  const owner = await seedOrganization(app);
  const license = await createLicenseAs(app, owner.token, { maxSeats: 1 });
  const r = await gql(app, LOG, { licenseId: license.id, ...variables }, owner.token);
  expect(r.data?.licenseVerifications ?? null).toBeNull();
  expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field } });
});
