/** A license page charts the license's seat utilization, offers it as CSV, and lists its verification log, filtered by result. */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { acquire, gql } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole } from '../support/console.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const web = useConsole();

it("charts a license's seat utilization, downloads it as CSV, and shows its verification log", async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const license = await createLicenseAs(web.app, owner.token, { maxSeats: 2 });
  for (const fp of ['desk-1', 'desk-2']) expect((await acquire(web.app, license.key, fp)).__typename).toBe('SeatGranted');
  expect((await acquire(web.app, license.key, 'desk-3')).__typename).toBe('NoSeatsAvailable');
  const validated = await gql(
    web.app,
    `mutation($key: String!) { validateLicense(input: { licenseKey: $key }) { code } }`,
    { key: license.key },
    null,
    '198.51.100.7',
  );
  expect(validated.data?.validateLicense.code).toBe('VALID');
  await web.app.services.utilization.flush();
  await web.app.services.verifications.flush();

  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  await page.getByRole('link', { name: 'Licenses', exact: true }).click();
  await page.getByRole('link', { name: license.id, exact: true }).click();

  const chart = page.getByRole('img', { name: /^Seat utilization/ });
  await expect.poll(() => chart.getAttribute('aria-label')).toBe('Seat utilization: peak 2 of 2, 2 granted, 1 refused');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  expect(download.suggestedFilename()).toBe(`utilization-${license.id}.csv`);
  const csv = (await readFile((await download.path())!, 'utf8')).trim().split('\n');
  expect(csv[0]).toBe('at,peakUsed,max,grants,denials,queued');
  expect(csv.slice(1)).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z,2,2,2,1,0$/)]);

  const log = page.getByRole('table', { name: 'Verification log' });
  const row = (text: string) => log.getByRole('row').filter({ hasText: text });
  await expect.poll(() => row('NO_SEATS_AVAILABLE').count()).toBe(1);
  expect(await row('NO_SEATS_AVAILABLE').textContent()).toContain('desk-3');
  expect(await row('validateLicense').textContent()).toContain('198.51.100.7');
  await tab.look('license-history');

  await page.getByLabel('Result').selectOption('NO_SEATS_AVAILABLE');
  await expect.poll(() => row('validateLicense').count()).toBe(0);
  expect(await row('NO_SEATS_AVAILABLE').count()).toBe(1);

  // The overview charts the organization's licenses together, and offers that as CSV too.
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByRole('heading', { name: 'Seat utilization, every license' }).waitFor();
  await expect.poll(() => chart.getAttribute('aria-label')).toBe('Seat utilization: peak 2 of 2, 2 granted, 1 refused');
  const [orgDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  expect(orgDownload.suggestedFilename()).toBe('utilization-organization.csv');
  await tab.look('overview-utilization');
  tab.assertClean();
});
