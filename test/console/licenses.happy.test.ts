/** A vendor's staff member signs in, creates a license, and watches its seats live while apps take and give them back. */
import { expect, it } from 'vitest';
import { acquire, release } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole } from '../support/console.ts';

const web = useConsole();

it('signs in, creates a license showing its key once, and follows its seats and sessions live', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const tab = await web.open();
  const { page } = tab;
  await tab.look('sign-in');
  await signIn(page, owner.email, owner.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await tab.look('overview-empty');
  await page.getByRole('link', { name: 'Licenses', exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { name: 'Licenses' }).isVisible()).toBe(true);
  await expect.poll(() => page.getByText('No licenses yet.').isVisible()).toBe(true);
  await tab.look('licenses-empty');

  await page.getByRole('button', { name: 'New license' }).click();
  await page.getByLabel('Tier').first().fill('team');
  await page.getByLabel('Features').fill('export, sso');
  await page.getByLabel('Seats (concurrent)').fill('2');
  await page.getByRole('button', { name: 'Create license' }).click();
  const keyOutput = page.getByRole('status', { name: 'License key' });
  await keyOutput.waitFor();
  const key = (await keyOutput.textContent())!;
  expect(key).toMatch(/^lhk_/);
  await expect.poll(() => page.getByText('it is shown only this once').isVisible()).toBe(true);
  await expect.poll(() => page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true);
  await tab.look('license-created');

  await page.getByRole('link', { name: /^Open lic_/ }).click();
  const gauge = page.getByRole('meter', { name: /Seats in use/ });
  await expect.poll(() => gauge.getAttribute('aria-label')).toBe('Seats in use: 0 of 2');
  // The key was shown once: the license page has only its last characters.
  expect(await page.content()).not.toContain(key);
  const licenseId = page.url().split('/').pop()!;

  // An app takes a seat through the API, from outside the page.
  // What the app says of itself is shown as text, markup and all (in the order Postgres keeps a JSON object's keys).
  const seat = await acquire(web.app, key, 'build-agent-7', { app: 'cad-studio 2.4.1', os: '<img src=x onerror=alert(1)>' });
  await expect.poll(() => gauge.getAttribute('aria-label')).toBe('Seats in use: 1 of 2');
  const sessions = page.getByRole('table', { name: 'Active sessions' });
  await expect.poll(() => sessions.getByRole('cell', { name: 'build-agent-7', exact: true }).isVisible()).toBe(true);
  await expect
    .poll(() => sessions.getByRole('cell', { name: 'os <img src=x onerror=alert(1)> · app cad-studio 2.4.1', exact: true }).isVisible())
    .toBe(true);
  expect(await sessions.locator('img').count()).toBe(0);
  await tab.look('license-seat-taken');

  await release(web.app, key, seat.session.id);
  await expect.poll(() => gauge.getAttribute('aria-label')).toBe('Seats in use: 0 of 2');
  await expect.poll(() => page.getByText('No machine holds a seat right now.').isVisible()).toBe(true);

  // The list follows every license of the organization with one subscription.
  await page.getByRole('link', { name: 'Licenses', exact: true }).first().click();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: licenseId }) });
  await expect.poll(() => row.getByRole('meter').getAttribute('aria-label')).toBe('Seats in use: 0 of 2');
  await acquire(web.app, key, 'laptop-1');
  await expect.poll(() => row.getByRole('meter').getAttribute('aria-label')).toBe('Seats in use: 1 of 2');
  await tab.look('licenses-live');

  // The overview adds it up, live, and the audit log has the creation, its chain intact.
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await expect.poll(() => page.getByRole('meter').first().getAttribute('aria-label')).toBe('Seats in use: 1 of 2');
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByRole('textbox', { name: 'Action' }).fill('license.created');
  await page.getByRole('button', { name: 'Filter' }).click();
  const audit = page.getByRole('table', { name: 'Audit log' });
  await expect.poll(() => audit.getByRole('row').count()).toBe(2);
  expect(await audit.getByRole('row').nth(1).textContent()).toContain(licenseId);
  await page.getByRole('button', { name: 'Verify the hash chain' }).click();
  await page.getByText(/Chain verified: \d+ entries/).waitFor();
  await page.getByRole('button', { name: "Sign the chain's head now" }).click();
  await page.getByText(/Signed through entry \d+ at/).waitFor();
  await tab.look('audit-log');

  expect(page.url()).not.toMatch(/token|pk_|lhk_/);
  tab.assertClean();
});
