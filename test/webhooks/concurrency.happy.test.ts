/**
 * The worker is a pool without head-of-line blocking: while one receiver hangs, another
 * endpoint's deliveries go out at once; the hanging one never holds more than
 * WEBHOOK_ENDPOINT_CONCURRENCY attempts; and every delivery is still made exactly once.
 */
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookDeliveries } from '../../src/db/schema.ts';
import { inTenant } from '../../src/db/tenant.ts';
import { emitEvents } from '../../src/services/webhooks/events.ts';
import { startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { sleep, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createEndpoint, startReceiver, type Receiver } from '../support/webhooks.ts';

const HANG_MS = 8_000;
let app: App;
let hanging: Receiver;
let healthy: Receiver;
beforeAll(async () => {
  app = await startApp({
    WEBHOOK_POLL_MS: '20',
    // An attempt may take as long as the hanging receiver holds it.
    WEBHOOK_TIMEOUT_MS: String(HANG_MS + 2_000),
    WEBHOOK_CONCURRENCY: '8',
    WEBHOOK_ENDPOINT_CONCURRENCY: '3',
    WEBHOOK_BATCH_SIZE: '8',
  });
  hanging = await startReceiver(() => ({ status: 200, delayMs: HANG_MS }));
  healthy = await startReceiver(() => ({ status: 200 }));
});
afterAll(async () => {
  await Promise.all([hanging.close(), healthy.close()]);
  await app.close();
});

async function delivered(endpointId: string) {
  const [row] = await app.services.db
    .select({ n: count() })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, 'DELIVERED')));
  return row?.n ?? 0;
}

describe('the delivery pool', () => {
  it('delivers to a healthy endpoint while another hangs, holding at most the per-endpoint cap on the hanging one', async () => {
    const org = await seedOrganization(app);
    // Each endpoint takes its own event type, so each event is delivered to one of them.
    const slow = await createEndpoint(app, org.token, { url: hanging.url, eventTypes: ['custom.slow'] });
    const fast = await createEndpoint(app, org.token, { url: healthy.url, eventTypes: ['custom.fast'] });
    // The hanging endpoint's backlog comes first, so it is what an oldest-first claim sees first.
    await inTenant(app.services.db, org.orgId, (tx) =>
      emitEvents(tx, org.orgId, Array.from({ length: 20 }, (_, i) => ({ type: 'custom.slow' as const, data: { n: i } }))),
    );
    await sleep(20);
    await inTenant(app.services.db, org.orgId, (tx) =>
      emitEvents(tx, org.orgId, Array.from({ length: 30 }, (_, i) => ({ type: 'custom.fast' as const, data: { n: i } }))),
    );

    const worker = startWebhookWorker(app.services, { organizationId: org.orgId });
    try {
      const started = Date.now();
      while ((await delivered(fast.id)) < 30) {
        if (Date.now() - started > HANG_MS) throw new Error('the healthy endpoint waited for the hanging one');
        await sleep(50);
      }
      // Every healthy delivery went out while the hanging receiver still held its first attempts.
      expect(await delivered(slow.id)).toBe(0);
      expect(healthy.requests).toHaveLength(30);
      expect(hanging.requests).toHaveLength(3);
    } finally {
      await worker.stop();
    }
    // Stopping let the attempts in hand finish: the three held ones were delivered, nothing more started.
    expect(await delivered(slow.id)).toBe(3);
    expect(hanging.requests).toHaveLength(3);
  }, 60_000);
});
