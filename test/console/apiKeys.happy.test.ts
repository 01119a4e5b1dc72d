/** An admin creates an API key with an allowlist checked as it is typed, rotates it with a grace period so both secrets work, and revokes it. */
import { expect, it } from 'vitest';
import { seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole } from '../support/console.ts';
import { viewerKind } from '../support/server.ts';

const web = useConsole({ API_KEY_CACHE_MS: '0' });

it('creates a key (secret once), rotates it with grace so both secrets work, and revokes it with a reason', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  await page.getByRole('link', { name: 'API keys', exact: true }).click();
  await page.getByText('No API keys yet.').waitFor();
  await page.getByRole('button', { name: 'New API key' }).click();
  await page.getByLabel('Name').fill('billing');
  // The allowlist is checked as it is typed, by the server's own rules.
  const allowlist = page.getByLabel('IP allowlist');
  await allowlist.fill('127.0.0.5/8');
  await expect.poll(() => page.getByRole('alert').textContent()).toContain('did you mean 127.0.0.0/8?');
  expect(await allowlist.getAttribute('aria-invalid')).toBe('true');
  await tab.look('api-key-allowlist-invalid');
  await allowlist.fill('127.0.0.0/8\n::1');
  await expect.poll(() => allowlist.getAttribute('aria-invalid')).toBe('false');
  await page.getByRole('checkbox', { name: 'licenses:write' }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secretOutput = page.getByRole('status', { name: 'Secret of billing' });
  const first = (await secretOutput.textContent())!;
  expect(first).toMatch(/^pk_live_/);
  await tab.look('api-key-created');
  expect(await viewerKind(web.url, first)).toBe('apiKey');
  await page.getByRole('button', { name: 'Done' }).click();
  expect(await page.content()).not.toContain(first);

  const row = page.getByRole('row').filter({ hasText: 'billing' });
  await expect.poll(() => row.textContent()).toContain('127.0.0.0/8');
  await page.getByRole('button', { name: 'Rotate billing' }).click();
  await page.getByLabel('Grace period (seconds, at most 7 days)').fill('600');
  await page.getByRole('button', { name: 'Rotate key' }).click();
  const second = (await page.getByRole('status', { name: 'Secret of billing' }).textContent())!;
  expect(second).toMatch(/^pk_live_/);
  expect(second).not.toBe(first);
  // Both secrets work during the grace period.
  expect(await viewerKind(web.url, second)).toBe('apiKey');
  expect(await viewerKind(web.url, first)).toBe('apiKey');
  await expect.poll(() => row.textContent()).toContain('Old secret works until');
  await tab.look('api-key-rotated');

  await page.getByRole('button', { name: 'Revoke billing' }).click();
  await page.getByLabel('Reason (recorded on the key and in the audit log)').fill('leaked in a log');
  await page.getByRole('button', { name: 'Revoke key' }).click();
  await expect.poll(() => row.textContent()).toContain('leaked in a log');
  await expect.poll(() => row.getByText('Revoked').isVisible()).toBe(true);
  await expect.poll(() => viewerKind(web.url, second)).not.toBe('apiKey');
  await expect.poll(() => viewerKind(web.url, first)).not.toBe('apiKey');
  await tab.look('api-key-revoked');
  tab.assertClean();
});
