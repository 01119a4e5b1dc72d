/** A vendor's staff member sees a license's machines, downloads one's offline certificate, and frees a machine for another. */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { expect, it } from 'vitest';
import { acquire } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { signIn, useConsole } from '../support/console.ts';

const web = useConsole();

it('lists the machines live, downloads a certificate that verifies, and deactivates a machine so another takes its place', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const license = await createLicenseAs(web.app, owner.token, { maxSeats: 3, maxMachines: 1, maxDeactivationsPerMonth: 5 });

  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  await page.goto(`${web.url}/dashboard/licenses/${license.id}`);
  await page.getByText('No machine has activated this license yet.').waitFor();
  await expect.poll(() => page.getByText('5 per month').isVisible()).toBe(true);

  // An app activates the license on a machine, from outside the page: the table follows.
  await acquire(web.app, license.key, 'old-workstation');
  const machines = page.getByRole('table', { name: 'Machines' });
  const row = machines.getByRole('row').filter({ has: page.getByRole('cell', { name: 'old-workstation', exact: true }) });
  await expect.poll(() => row.getByRole('cell').nth(3).textContent()).toBe('1');
  expect((await acquire(web.app, license.key, 'new-workstation')).code).toBe('TOO_MANY_MACHINES');
  await tab.look('license-machines');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.getByRole('button', { name: 'Download certificate for old-workstation' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${license.id}-old-workstation.jwt`);
  const token = await readFile((await download.path())!, 'utf8');
  const jwks = createLocalJWKSet(await (await fetch(`${web.url}/.well-known/jwks.json`)).json());
  const { payload } = await jwtVerify(token, jwks, { typ: 'license-certificate+jwt', audience: license.id });
  expect(payload).toMatchObject({ sub: license.id, fp: 'old-workstation' });

  await row.getByRole('button', { name: /^Deactivate/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Deactivate this machine?' });
  await expect.poll(() => dialog.getByText('Its 1 live session ends now.', { exact: false }).isVisible()).toBe(true);
  await tab.look('machine-deactivate-confirm');
  await dialog.getByRole('button', { name: 'Deactivate machine' }).click();
  await page.getByText('No machine has activated this license yet.').waitFor();
  await expect.poll(() => page.getByRole('meter', { name: /Seats in use/ }).getAttribute('aria-label')).toBe('Seats in use: 0 of 3');

  expect((await acquire(web.app, license.key, 'new-workstation')).__typename).toBe('SeatGranted');
  await machines.getByRole('cell', { name: 'new-workstation', exact: true }).waitFor();
  await tab.look('license-machine-replaced');
  tab.assertClean();
});
