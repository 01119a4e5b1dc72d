/** Sign-in keeps the credential in the tab only, replaces the access token before it runs out, and signing out ends the sign-in on the server. */
import { expect, it } from 'vitest';
import { admin, gql } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole, type ConsolePage } from '../support/console.ts';

const web = useConsole();
const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { __typename } }`;
const VIEWER = `{ viewer { kind } }`;

type Stored = { kind: 'user'; accessToken: string; accessTokenExpiresAt: string; refreshToken: string };

const readCredential = (page: ConsolePage['page']) =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem('leasehold.credential') ?? 'null') as Stored | null);

/** Reloads the tab with its access token 30 s from expiry; answers the credential before and the one it was replaced by. */
async function reloadNearExpiry(page: ConsolePage['page']) {
  const first = (await readCredential(page))!;
  await page.evaluate(() => {
    const stored = JSON.parse(sessionStorage.getItem('leasehold.credential')!);
    stored.accessTokenExpiresAt = new Date(Date.now() + 30_000).toISOString();
    sessionStorage.setItem('leasehold.credential', JSON.stringify(stored));
  });
  await page.reload();
  await expect.poll(async () => (await readCredential(page))?.refreshToken).not.toBe(first.refreshToken);
  return { first, second: (await readCredential(page))! };
}

it('keeps the credential in session storage, never in the URL, and refreshes it before it expires', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  const first = (await readCredential(page))!;
  expect(first.kind).toBe('user');
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  expect(page.url()).toBe(`${web.url}/dashboard/overview`);

  // A reload keeps the tab signed in; a token about to expire is replaced at once.
  const { second } = await reloadNearExpiry(page);
  expect(Date.parse(second.accessTokenExpiresAt)).toBeGreaterThan(Date.now() + 30 * 60_000);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect((await gql(web.app, VIEWER, {}, second.accessToken)).data?.viewer.kind).toBe('user');

  // Signing out forgets the credential and ends the sign-in on the server: nothing else has.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  expect(await readCredential(page)).toBeNull();
  await expect
    .poll(async () => (await gql(web.app, REFRESH, { t: second.refreshToken })).data?.refreshToken.__typename)
    .toBe('InvalidCredentials');
  expect((await gql(web.app, VIEWER, {}, second.accessToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  tab.assertClean();
});

it('ends the tab\'s sign-in when a refresh token it replaced is used again, and says so', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  const { first, second } = await reloadNearExpiry(page);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  // Someone replays the replaced refresh token: it is spent, and the whole sign-in ends with it.
  expect((await gql(web.app, REFRESH, { t: first.refreshToken })).data?.refreshToken.__typename).toBe('InvalidCredentials');
  expect((await gql(web.app, REFRESH, { t: second.refreshToken })).data?.refreshToken.__typename).toBe('InvalidCredentials');

  // The tab finds out at its next request, and goes back to the sign-in page saying why.
  await page.getByRole('link', { name: 'Licenses', exact: true }).click();
  await expect.poll(() => page.getByRole('status').textContent()).toBe('Your session has ended. Sign in again.');
  expect(await readCredential(page)).toBeNull();
  // The refused requests of the ended sign-in are the only errors the page logged.
  expect(tab.errors.length).toBeGreaterThan(0);
  expect(tab.errors.filter((e) => !/status of 401|answered 401/.test(e))).toEqual([]);
  tab.errors.length = 0;
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
