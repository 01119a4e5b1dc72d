/**
 * A dashboard sees each status change of its organization's deliveries live over graphql-ws,
 * whichever instance's worker makes it, and nothing of another organization's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { createApiKey } from '../../src/services/apiKeys/management.ts';
import { createLicense } from '../../src/services/licenses/licenses.ts';
import { SCOPES } from '../../src/services/principals.ts';
import { startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { startApp } from '../support/harness.ts';
import { collect, serve, wsClient } from '../support/server.ts';
import { createEndpoint, startReceiver, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let dashboardInstance: App;
let workerInstance: App;
let server: Awaited<ReturnType<typeof serve>>;
let receiver: Receiver;
beforeAll(async () => {
  const env = { WEBHOOK_POLL_MS: '20', WEBHOOK_BACKOFF_SECONDS: '0.3' };
  [dashboardInstance, workerInstance] = await Promise.all([startApp(env), startApp(env)]);
  server = await serve(dashboardInstance);
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await server.close();
  await Promise.all([dashboardInstance.close(), workerInstance.close()]);
});

const SUBSCRIBE = `subscription($endpointId: ID) { webhookDeliveryUpdated(endpointId: $endpointId) {
  id endpointId eventType status attemptCount attempts { statusCode } } }`;

type Update = { webhookDeliveryUpdated: { id: string; endpointId: string; eventType: string; status: string; attemptCount: number } };

describe('webhookDeliveryUpdated', () => {
  it('shows a dashboard on one instance PENDING → FAILED → RETRYING → DELIVERED for a delivery the other instance makes', async () => {
    const org = await seedOrganization(dashboardInstance);
    const stranger = await seedOrganization(dashboardInstance);
    receiver.respondWith((_request, n) => ({ status: n === 0 ? 500 : 200 }));
    const { id: endpointId } = await createEndpoint(dashboardInstance, org.token, { url: receiver.url, eventTypes: ['license.created'] });

    const dashboard = wsClient(server.wsUrl, org.token);
    const onEndpoint = collect<Update>(dashboard, SUBSCRIBE, { endpointId });
    const onOrganization = collect<Update>(dashboard, SUBSCRIBE, {});
    const strangers = wsClient(server.wsUrl, stranger.token);
    const onStranger = collect<Update>(strangers, SUBSCRIBE, {});
    // Let the three subscriptions attach before anything happens.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const worker = startWebhookWorker(workerInstance.services, { organizationId: org.orgId });
    try {
      // The change, too, is made through the second instance (access tokens are per instance here, so by service call).
      const actor = { type: 'user' as const, id: org.userId, orgId: org.orgId, requestId: null };
      const made = await createLicense(workerInstance.services, actor, {
        tier: 'pro',
        features: [],
        maxSeats: 1,
        maxMachines: null,
        leaseSeconds: null,
        reviveSeconds: null,
        expiresAt: null,
        metadata: null,
      });
      expect(made.ok).toBe(true);
      const updates = await onEndpoint.until(4);
      expect(updates.map((u) => u.webhookDeliveryUpdated.status)).toEqual(['PENDING', 'FAILED', 'RETRYING', 'DELIVERED']);
      expect(updates.map((u) => u.webhookDeliveryUpdated.attemptCount)).toEqual([0, 1, 1, 2]);
      expect(new Set(updates.map((u) => u.webhookDeliveryUpdated.id)).size).toBe(1);
      expect(updates[3]!.webhookDeliveryUpdated).toMatchObject({ endpointId, eventType: 'license.created' });
      expect((await onOrganization.until(4)).map((u) => u.webhookDeliveryUpdated.status)).toEqual([
        'PENDING',
        'FAILED',
        'RETRYING',
        'DELIVERED',
      ]);
      expect(onStranger.events).toEqual([]);
    } finally {
      await worker.stop();
      onEndpoint.dispose();
      onOrganization.dispose();
      onStranger.dispose();
      await dashboard.dispose();
      await strangers.dispose();
    }
  });

  it("refuses a subscriber naming another organization's endpoint, and one without webhooks:read", async () => {
    const org = await seedOrganization(dashboardInstance);
    const stranger = await seedOrganization(dashboardInstance);
    const { id: endpointId } = await createEndpoint(dashboardInstance, org.token, { url: receiver.url, eventTypes: ['*'] });
    const client = wsClient(server.wsUrl, stranger.token);
    await expect(collect(client, SUBSCRIBE, { endpointId }).until(1)).rejects.toThrow(/No webhook endpoint/);
    await client.dispose();

    const actor = { type: 'user' as const, id: org.userId, orgId: org.orgId, requestId: null };
    const key = await createApiKey(
      dashboardInstance.services,
      actor,
      { name: 'no webhooks', environment: 'live', scopes: ['licenses:read'] },
      SCOPES,
    );
    if (!key.ok) throw key.error;
    const limited = wsClient(server.wsUrl, key.value.secret);
    await expect(collect(limited, SUBSCRIBE, {}).until(1)).rejects.toThrow(/scope|FORBIDDEN/);
    await limited.dispose();
  });
});
