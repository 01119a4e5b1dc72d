/** An overview page follows every license of its organization with one subscription, across instances. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { acquire, gql, release, startApp } from '../support/harness.ts';
import { addUser, seedOrganization } from '../support/organizations.ts';
import { collect, serve, wsClient } from '../support/server.ts';

let first: App;
let second: App;
let server: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  [first, second] = await Promise.all([startApp(), startApp()]);
  server = await serve(first);
});
afterAll(async () => {
  await server.close();
  await Promise.all([first.close(), second.close()]);
});

const SUBSCRIBE_ALL = `subscription { seatCountsChanged { licenseId used max changedAt } }`;
type Counts = { seatCountsChanged: { licenseId: string; used: number; max: number; changedAt: string } };

async function createOrgLicense(app: App, token: string, maxSeats: number) {
  const r = await gql(
    app,
    `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { ... on LicenseCreated { key license { id } } } }`,
    { input: { tier: 'pro', features: [], maxSeats } },
    token,
  );
  return { id: r.data!.createLicense.license.id as string, key: r.data!.createLicense.key as string };
}

it('delivers the changes of every license of the organization, in order, whichever instance made them', async () => {
  const org = await seedOrganization(first, 'viewer');
  const { token: ownerToken } = await addUser(first, org.orgId, 'owner');
  const other = await seedOrganization(first, 'owner');
  const probe = await createOrgLicense(first, ownerToken, 1);
  const a = await createOrgLicense(first, ownerToken, 2);
  const b = await createOrgLicense(first, ownerToken, 5);
  const elsewhere = await createOrgLicense(first, other.token, 1);

  const client = wsClient(server.wsUrl, org.token);
  const feed = collect<Counts>(client, SUBSCRIBE_ALL, {});
  // No snapshot comes first: take and give back a seat of a probe license until the feed hears it.
  while (feed.events.length === 0) {
    const held = await acquire(first, probe.key, 'probe');
    await release(first, probe.key, held.session.id);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const one = await acquire(second, b.key, 'one');
  await acquire(first, elsewhere.key, 'not-ours');
  await acquire(second, a.key, 'two');
  await release(first, b.key, one.session.id);
  const ours = () => feed.events.filter((e) => e.seatCountsChanged.licenseId !== probe.id);
  while (ours().length < 5) await feed.until(feed.events.length + 1);
  // A license's first seat operation loads it into the seat store, which announces its count.
  expect(ours().map((e) => [e.seatCountsChanged.licenseId, e.seatCountsChanged.used, e.seatCountsChanged.max])).toEqual([
    [b.id, 0, 5],
    [b.id, 1, 5],
    [a.id, 0, 2],
    [a.id, 1, 2],
    [b.id, 0, 5],
  ]);
  feed.dispose();
  await client.dispose();
});
