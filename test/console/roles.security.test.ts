/** A viewer sees the organization's licenses and seats, and no button it cannot use; the server refuses it anyway. */
import { expect, it } from 'vitest';
import { acquire, gql } from '../support/harness.ts';
import { addUser, seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole } from '../support/console.ts';
import { createEndpoint } from '../support/webhooks.ts';

const web = useConsole();

it('shows a viewer licenses and sessions without any action, and the server refuses its revoke', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const viewer = await addUser(web.app, owner.orgId, 'viewer');
  const created = await gql(
    web.app,
    `mutation { createLicense(input: { tier: "pro", features: [], maxSeats: 3 }) { ... on LicenseCreated { key license { id } } } }`,
    {},
    owner.token,
  );
  const { key, license } = created.data!.createLicense;
  const seat = await acquire(web.app, key, 'studio-mac');

  const tab = await web.open();
  const { page } = tab;
  await signIn(page, viewer.email, viewer.password);
  await page.getByRole('link', { name: 'Licenses', exact: true }).click();
  await page.getByRole('link', { name: license.id }).click();
  await expect.poll(() => page.getByRole('meter', { name: /Seats in use/ }).getAttribute('aria-label')).toBe('Seats in use: 1 of 3');
  await page.getByRole('table', { name: 'Active sessions' }).getByRole('cell', { name: 'studio-mac', exact: true }).waitFor();
  await page.getByRole('table', { name: 'Machines' }).getByRole('cell', { name: 'studio-mac', exact: true }).waitFor();
  await tab.look('license-as-viewer');
  for (const name of ['Suspend', 'Revoke', 'Renew', 'Reinstate', 'Save limits', /^Release/, /^Deactivate/]) {
    expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
  }
  await page.getByRole('link', { name: 'Licenses', exact: true }).first().click();
  await page.getByRole('heading', { name: 'Licenses' }).waitFor();
  expect(await page.getByRole('button', { name: 'New license' }).count()).toBe(0);

  // Its organization's API keys and endpoints, to read only.
  await gql(
    web.app,
    `mutation { createApiKey(input: { name: "billing", environment: LIVE, scopes: ["licenses:read"] }) { __typename } }`,
    {},
    owner.token,
  );
  await createEndpoint(web.app, owner.token, { url: 'https://hooks.example.com/leasehold' });
  await page.getByRole('link', { name: 'API keys', exact: true }).click();
  await page.getByRole('cell', { name: /billing/ }).waitFor();
  for (const name of ['New API key', /^Rotate/, /^Revoke/, /^Edit allowlist/]) {
    expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
  }
  await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
  await page.getByRole('cell', { name: 'https://hooks.example.com/leasehold' }).waitFor();
  for (const name of ['New endpoint', /^Disable/, /^Delete/, /^Send test/, /^Rotate secret/, /^Redeliver/]) {
    expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
  }
  await tab.look('webhooks-as-viewer');
  tab.assertClean();

  // Hidden buttons are a courtesy; the server decides.
  const revoke = await gql(
    web.app,
    `mutation($id: ID!) { revokeLicense(input: { id: $id }) { __typename } }`,
    { id: license.id },
    viewer.token,
  );
  expect(revoke.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const release = await gql(
    web.app,
    `mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`,
    { id: seat.session.id },
    viewer.token,
  );
  expect(release.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
});
