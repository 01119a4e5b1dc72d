/** Sign-in keeps the credential in the tab only, replaces the access token before it runs out, and signing out ends the sign-in on the server. */
import { expect, it } from 'vitest';
import { admin, gql } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole } from '../support/console.ts';

const web = useConsole();
const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { __typename } }`;

type Stored = { kind: 'user'; accessToken: string; accessTokenExpiresAt: string; refreshToken: string };

it('keeps the credential in session storage, never in the URL, and refreshes it before it expires', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  const read = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('leasehold.credential') ?? 'null') as Stored | null);
  const first = (await read())!;
  expect(first.kind).toBe('user');
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  expect(page.url()).toBe(`${web.url}/dashboard/overview`);

  // A reload keeps the tab signed in; a token about to expire is replaced at once.
  await page.evaluate(() => {
    const stored = JSON.parse(sessionStorage.getItem('leasehold.credential')!);
    stored.accessTokenExpiresAt = new Date(Date.now() + 30_000).toISOString();
    sessionStorage.setItem('leasehold.credential', JSON.stringify(stored));
  });
  await page.reload();
  await expect.poll(async () => (await read())?.refreshToken).not.toBe(first.refreshToken);
  const second = (await read())!;
  expect(Date.parse(second.accessTokenExpiresAt)).toBeGreaterThan(Date.now() + 30 * 60_000);
  // The replaced refresh token is spent.
  expect((await gql(web.app, REFRESH, { t: first.refreshToken })).data?.refreshToken.__typename).toBe('InvalidCredentials');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  // Signing out forgets the credential and revokes the sign-in on the server.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  expect(await read()).toBeNull();
  await expect
    .poll(async () => (await gql(web.app, REFRESH, { t: second.refreshToken })).data?.refreshToken.__typename)
    .toBe('InvalidCredentials');
  tab.assertClean();
});

it('signs in with a pasted API key, and says why when the key is refused', async () => {
  const created = await admin(
    web.app,
    `mutation { createApiKey(input: { name: "console", environment: LIVE, scopes: ["licenses:read"] }) { ... on ApiKeyCreated { secret apiKey { id } } } }`,
  );
  const { secret } = created.data!.createApiKey;
  const tab = await web.open();
  const { page } = tab;
  await page.getByRole('radio', { name: 'An API key' }).check();
  await page.getByLabel('API key', { exact: true }).fill('pk_live_not-a-real-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not valid|API key/i);
  await tab.look('sign-in-api-key-refused');
  // The refused attempt's only trace in the console is the server's 401 answer, as it should be.
  expect(tab.errors.length).toBeGreaterThan(0);
  expect(tab.errors.filter((e) => !/status of 401|ApiKeyViewer answered 401/.test(e))).toEqual([]);
  tab.errors.length = 0;

  await page.getByLabel('API key', { exact: true }).fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.getByRole('link', { name: 'Licenses', exact: true }).click();
  await page.getByRole('heading', { name: 'Licenses' }).waitFor();
  // A key that may only read licenses gets no button to create one, and no page of what it cannot read.
  expect(await page.getByRole('link', { name: 'API keys' }).count()).toBe(0);
  expect(await page.getByRole('button', { name: 'New license' }).count()).toBe(0);
  expect(page.url()).not.toContain(secret);
  tab.assertClean();
});
