/** The organization-wide seat feed needs a credential that may read licenses. */
import { expect, it } from 'vitest';
import { admin, gql } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { collect, servedApp, wsClient } from '../support/server.ts';

const served = servedApp();

const SUBSCRIBE_ALL = `subscription { seatCountsChanged { licenseId used } }`;

it('refuses a subscriber without a credential, with a bad one, and an API key without licenses:read', async () => {
  const anonymous = wsClient(served.wsUrl, null);
  await expect(collect(anonymous, SUBSCRIBE_ALL, {}).until(1)).rejects.toThrow(/UNAUTHENTICATED/);
  await anonymous.dispose();
  // A credential that is not one refuses the operation with UNAUTHENTICATED, as over HTTP.
  const forged = wsClient(served.wsUrl, 'not-a-token');
  await expect(collect(forged, SUBSCRIBE_ALL, {}).until(1)).rejects.toThrow(/credential is not valid.*UNAUTHENTICATED/);
  await forged.dispose();
  const created = await admin(
    served.app,
    `mutation { createApiKey(input: { name: "hooks only", environment: LIVE, scopes: ["webhooks:read"] }) { ... on ApiKeyCreated { secret } } }`,
  );
  const key = created.data!.createApiKey.secret as string;
  const client = wsClient(served.wsUrl, key);
  await expect(collect(client, SUBSCRIBE_ALL, {}).until(1)).rejects.toThrow(/FORBIDDEN|scope/i);
  await client.dispose();
});

const SUBSCRIBE_NAMED = `subscription($ids: [ID!]) { seatCountsChanged(licenseIds: $ids) { licenseId used } }`;

it("gives no count of another organization's license, nor of more licenses than a page shows", async () => {
  const owner = await seedOrganization(served.app, 'owner');
  const stranger = await seedOrganization(served.app, 'owner');
  const created = await gql(
    served.app,
    `mutation { createLicense(input: { tier: "pro", features: [], maxSeats: 3 }) { ... on LicenseCreated { license { id } } } }`,
    {},
    owner.token,
  );
  const theirs = created.data!.createLicense.license.id as string;
  const client = wsClient(served.wsUrl, stranger.token);
  for (const ids of [[theirs], ['lic_not-a-license'], Array.from({ length: 101 }, (_, i) => `lic_${i}`)]) {
    const feed = collect<unknown>(client, SUBSCRIBE_NAMED, { ids });
    await expect(feed.until(1)).rejects.toThrow(/BAD_USER_INPUT.*licenseIds/);
    expect(feed.events).toEqual([]);
    feed.dispose();
  }
  await client.dispose();
});
