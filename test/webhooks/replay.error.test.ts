/**
 * An event older than WEBHOOK_MAX_EVENT_AGE_SECONDS when its attempt comes due (after an outage,
 * say) is not sent: the delivery is REPLAY_EXPIRED, and can still be redelivered by hand.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookEndpoints } from '../../src/db/schema.ts';
import { deliverDueWebhooks, startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { gql, sleep, startApp } from '../support/harness.ts';
import { attemptsOf, createEndpoint, createLicenseAs, startReceiver, waitForStatus, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let receiver: Receiver;
let org: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  app = await startApp({ WEBHOOK_MAX_EVENT_AGE_SECONDS: '1', WEBHOOK_BACKOFF_SECONDS: '1.5', WEBHOOK_POLL_MS: '20' });
  receiver = await startReceiver();
  org = await seedOrganization(app);
});
afterAll(async () => {
  await receiver.close();
  await app.close();
});
afterEach(async () => {
  await app.services.db.delete(webhookEndpoints).where(eq(webhookEndpoints.orgId, org.orgId));
  receiver.requests.length = 0;
});

describe('replay expiry', () => {
  it('does not send an event that grew too old before any worker took it, and a redelivery by hand sends it', async () => {
    const { id } = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['license.created'] });
    await createLicenseAs(app, org.token);
    await sleep(1300);
    await deliverDueWebhooks(app.services, { organizationId: org.orgId });
    const expired = await waitForStatus(app, id, ['REPLAY_EXPIRED', 'DELIVERED']);
    expect(expired).toMatchObject({ status: 'REPLAY_EXPIRED', attempts: 0, nextAttemptAt: null });
    expect(receiver.requests).toHaveLength(0);
    expect(await attemptsOf(app, expired.id)).toEqual([]);

    const r = await gql(
      app,
      `mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { __typename } }`,
      { id: expired.id },
      org.token,
    );
    expect(r.data!.redeliverWebhook.__typename).toBe('WebhookDeliveryQueued');
    await deliverDueWebhooks(app.services, { organizationId: org.orgId });
    expect(await waitForStatus(app, id, ['DELIVERED', 'REPLAY_EXPIRED'])).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(receiver.requests).toHaveLength(1);
  });

  it('does not retry once the event has grown too old by the time the retry is due', async () => {
    receiver.respondWith(() => ({ status: 500 }));
    const { id } = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['license.created'] });
    const worker = startWebhookWorker(app.services, { organizationId: org.orgId });
    try {
      await createLicenseAs(app, org.token);
      const expired = await waitForStatus(app, id, ['REPLAY_EXPIRED', 'DEAD'], { timeoutMs: 10_000 });
      expect(expired).toMatchObject({ status: 'REPLAY_EXPIRED', attempts: 1 });
      expect(receiver.requests).toHaveLength(1);
      expect((await attemptsOf(app, expired.id)).map((a) => a.statusCode)).toEqual([500]);
    } finally {
      await worker.stop();
    }
  });
});
