/**
 * A backlog to one endpoint drains as fast as its receiver answers, WEBHOOK_ENDPOINT_CONCURRENCY
 * attempts at a time: the slot an attempt frees is refilled from the backlog at once, not at the
 * next poll (before, each poll sent one cap's worth: 8 deliveries a second to a receiver that
 * answers in a millisecond).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { inTenant } from '../../src/db/tenant.ts';
import { emitEvents } from '../../src/services/webhooks/events.ts';
import { startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createEndpoint, startReceiver, type Receiver } from '../support/webhooks.ts';

let app: App;
let receiver: Receiver;
let inFlight = 0;
let mostInFlight = 0;
beforeAll(async () => {
  // A poll a minute apart: only freed slots can explain a backlog sent within the test's time.
  app = await startApp({
    WEBHOOK_POLL_MS: '60000',
    WEBHOOK_CONCURRENCY: '16',
    WEBHOOK_ENDPOINT_CONCURRENCY: '3',
    WEBHOOK_BATCH_SIZE: '10',
  });
  receiver = await startReceiver(() => {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    setTimeout(() => inFlight--, 20);
    return { status: 200, delayMs: 20 };
  });
});
afterAll(async () => {
  await receiver.close();
  await app.close();
});

describe('a backlog to one endpoint', () => {
  it('is sent as slots free, at most the per-endpoint cap at once, each delivery once', async () => {
    const org = await seedOrganization(app);
    await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['custom.backlog'] });
    await inTenant(app.services.db, org.orgId, (tx) =>
      emitEvents(
        tx,
        org.orgId,
        Array.from({ length: 60 }, (_, i) => ({ type: 'custom.backlog' as const, data: { n: i } })),
      ),
    );
    const worker = startWebhookWorker(app.services, { organizationId: org.orgId });
    try {
      // 60 at 3 at a time is 20 rounds of 20 ms; the next poll is a minute away.
      await receiver.until(60, 30_000);
    } finally {
      await worker.stop();
    }
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(60);
    expect(mostInFlight).toBeLessThanOrEqual(3);
  }, 60_000);
});
