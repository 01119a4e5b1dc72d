/**
 * Single sign-on in the console, against the local issuer: the redirect flow (authorization
 * code with PKCE) leaves for the provider's sign-in page and comes back signed in, with the
 * code gone from the URL at once; a pasted ID token signs in too, and a refused one says why.
 */
import { afterAll, expect, it } from 'vitest';
import { useConsole } from '../support/console.ts';
import { startIssuers, type Issuers } from '../support/singleSignOn.ts';

let issuers: Issuers;
const web = useConsole(async () => {
  issuers = await startIssuers();
  return issuers.env;
});
afterAll(() => issuers?.close());

const fresh = () => ({ sub: crypto.randomUUID(), email: `sso-${crypto.randomUUID()}@example.test`, email_verified: true, tenant: 'beta' });
const read = (key: string) => `sessionStorage.getItem(${JSON.stringify(key)})`;

it("signs in through the provider's sign-in page and comes back with the code already gone from the URL", async () => {
  const who = fresh();
  issuers.realms.main.nextSignIn = who;
  const tab = await web.open();
  const { page } = tab;
  await page.getByRole('radio', { name: 'Single sign-on' }).check();
  await page.getByRole('button', { name: 'Sign in with Keycloak' }).waitFor();
  await tab.look('sign-in-single-sign-on');

  // Where the tab is when the console first renders anything: by then the code must be gone.
  await page.addInitScript(() => {
    const w = window as unknown as { firstRender?: string };
    new MutationObserver(() => {
      if (!w.firstRender && document.getElementById('root')?.firstChild) w.firstRender = location.href;
    }).observe(document, { childList: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Sign in with Keycloak' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(await page.getByText(`${who.email} (member)`).count()).toBe(1);
  await tab.look('signed-in-single-sign-on');

  // The tab went to the provider and came back to /dashboard/ with the code, which the page took out before rendering.
  const authorize = tab.requests.find((url) => url.startsWith(`${issuers.realms.main.issuer}/protocol/openid-connect/auth`));
  expect(new URL(authorize!).searchParams.get('code_challenge_method')).toBe('S256');
  expect(new URL(authorize!).searchParams.get('redirect_uri')).toBe(`${web.url}/dashboard/`);
  expect(page.url()).toBe(`${web.url}/dashboard/overview`);
  expect(await page.evaluate(read('leasehold.sso'))).toBeNull();
  const stored = JSON.parse((await page.evaluate(read('leasehold.credential'))) as string);
  expect(stored).toMatchObject({ kind: 'user', email: who.email });
  expect(JSON.stringify(stored)).not.toContain('code');
  expect(await page.evaluate(() => (window as unknown as { firstRender?: string }).firstRender)).toBe(`${web.url}/dashboard/`);
  // The only request that left the origin is the tab's own visit to the provider's sign-in page.
  tab.assertClean({ navigatedTo: [issuers.issuer.origin] });
});

it('signs in with a pasted ID token, and says why when the token is refused', async () => {
  const tab = await web.open();
  const { page } = tab;
  await page.getByRole('radio', { name: 'Single sign-on' }).check();
  const expired = await issuers.realms.main.sign({ ...fresh(), iat: Math.floor(Date.now() / 1000) - 7200 }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 });
  await page.getByRole('textbox', { name: 'ID token' }).fill(expired);
  await page.getByRole('button', { name: 'Sign in with ID token' }).click();
  await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/expired/);
  await tab.look('sign-in-id-token-refused');

  const who = fresh();
  await page.getByRole('textbox', { name: 'ID token' }).fill(await issuers.realms.main.sign(who));
  await page.getByRole('button', { name: 'Sign in with ID token' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(await page.getByText(`${who.email} (member)`).count()).toBe(1);
  tab.assertClean();
});

it('refuses to finish a sign-in this tab did not start', async () => {
  // A code and state planted in a link: no flow of this tab is pending, so nothing is sent.
  const tab = await web.open('/dashboard/?code=planted&state=planted');
  const { page } = tab;
  await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not started in this tab/);
  expect(page.url()).toBe(`${web.url}/dashboard/`);
  expect(tab.requests.filter((url) => url.endsWith('/graphql'))).toHaveLength(1); // the providers, nothing else
  tab.assertClean();
});
