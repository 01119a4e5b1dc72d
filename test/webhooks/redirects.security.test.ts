/**
 * A receiver that answers with a redirect is not followed: the URL the vendor gave was checked,
 * where it points was not (it may be an internal address). The attempt is recorded as failed
 * with the status it got, and retried like any other failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/services/webhooks/worker.ts';
import { startApp } from '../support/harness.ts';
import { attemptsOf, createEndpoint, createLicenseAs, startReceiver, waitForStatus, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

const REDIRECTS = [301, 302, 303, 307, 308];

let app: App;
let worker: WebhookWorker;
let target: Receiver;
const redirecting: Receiver[] = [];
let org: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  // Retries far off, so each delivery rests FAILED after its first attempt.
  app = await startApp({ WEBHOOK_POLL_MS: '20', WEBHOOK_BACKOFF_SECONDS: '600', WEBHOOK_MAX_ATTEMPTS: '3' });
  target = await startReceiver();
  for (const status of REDIRECTS) {
    redirecting.push(await startReceiver(() => ({ status, headers: { location: target.url }, body: 'moved' })));
  }
  org = await seedOrganization(app);
  worker = startWebhookWorker(app.services, { organizationId: org.orgId });
});
afterAll(async () => {
  await worker.stop();
  await Promise.all([target, ...redirecting].map((r) => r.close()));
  await app.close();
});

describe('a webhook receiver answering with a redirect', () => {
  it('is not followed, and the attempt is recorded as failed with its 3xx status', async () => {
    const endpoints = await Promise.all(
      redirecting.map((receiver) => createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['license.created'] })),
    );
    await createLicenseAs(app, org.token);

    for (const [i, endpoint] of endpoints.entries()) {
      const status = REDIRECTS[i]!;
      const delivery = await waitForStatus(app, endpoint.id, ['FAILED', 'DELIVERED', 'DEAD']);
      expect(delivery, `${status}`).toMatchObject({ status: 'FAILED', attempts: 1 });
      expect(delivery.nextAttemptAt, `${status}`).not.toBeNull();
      const attempts = await attemptsOf(app, delivery.id);
      expect(attempts.map((a) => [a.attempt, a.statusCode, a.responseBody, a.error])).toEqual([[1, status, 'moved', `HTTP ${status}`]]);
      expect(redirecting[i]!.requests, `${status}`).toHaveLength(1);
    }
    expect(target.requests).toHaveLength(0);
  });
});
