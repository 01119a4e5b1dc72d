/** A staff member adds an endpoint, watches a delivery fail until DEAD, redelivers it from the page and sees it turn DELIVERED live. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { gql } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { signIn, useConsole } from '../support/console.ts';
import { createLicenseAs, startReceiver, verifiesStandardWebhook, waitForStatus, type Receiver } from '../support/webhooks.ts';

const web = useConsole({ WEBHOOK_POLL_MS: '50', WEBHOOK_BACKOFF_SECONDS: '0.2', WEBHOOK_MAX_ATTEMPTS: '2' });
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver(() => ({ status: 500, body: 'database is down' }));
});
afterAll(() => receiver.close());

it('adds an endpoint (secret once), shows a delivery DEAD with its attempts, and redelivers it to DELIVERED live', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const worker = startWebhookWorker(web.app.services, { organizationId: owner.orgId });
  try {
    const tab = await web.open();
    const { page } = tab;
    await signIn(page, owner.email, owner.password);
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByText('No endpoints yet.').waitFor();
    await page.getByRole('button', { name: 'New endpoint' }).click();
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByLabel('Event types').fill('license.*');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secret = (await page.getByRole('status', { name: 'Signing secret' }).textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await tab.look('webhook-endpoint-created');
    await page.getByRole('button', { name: 'Done' }).click();
    const endpoints = page.getByRole('table', { name: 'Endpoints' });
    await endpoints.getByRole('button', { name: `Disable ${receiver.url}` }).waitFor();

    // An event happens elsewhere; its delivery fails twice and is DEAD.
    await createLicenseAs(web.app, owner.token);
    const deliveries = page.getByRole('table', { name: 'Deliveries' });
    const row = deliveries.getByRole('row').filter({ hasText: 'license.created' });
    await row.getByText('Dead').waitFor();
    const listed = await gql(web.app, `{ webhookEndpoints { id } }`, {}, owner.token);
    const dead = await waitForStatus(web.app, listed.data!.webhookEndpoints[0].id, ['DEAD']);
    expect(receiver.requests).toHaveLength(2);
    expect(verifiesStandardWebhook(secret, receiver.requests[0]!)).toBe(true);

    // Filtered by status, with each attempt's answer.
    await page.getByRole('combobox', { name: 'Status' }).selectOption('DEAD');
    await row.getByText('Dead').waitFor();
    await page.getByRole('button', { name: `Attempts of ${dead.id}` }).click();
    const attempts = page.getByRole('table', { name: `Attempts of ${dead.id}` });
    await expect.poll(() => attempts.getByRole('row').count()).toBe(3);
    await expect.poll(() => attempts.textContent()).toContain('database is down');
    await tab.look('webhook-delivery-dead');

    receiver.respondWith(() => ({ status: 200, body: 'ok' }));
    await page.getByRole('button', { name: `Redeliver ${dead.id}` }).click();
    await row.getByText('Delivered').waitFor();
    await expect.poll(() => receiver.requests.length).toBe(3);
    await tab.look('webhook-delivery-redelivered');
    tab.assertClean();
  } finally {
    await worker.stop();
  }
});
