/**
 * Any number of workers share the queue: two at once deliver each of 1,000 deliveries exactly
 * once, and a worker that dies holding a batch loses nothing; its claims lapse and another
 * worker delivers them, none twice.
 */
import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookAttempts, webhookDeliveries } from '../../src/db/schema.ts';
import { inTenant } from '../../src/db/tenant.ts';
import { emitEvents } from '../../src/services/webhooks/events.ts';
import { claimDueDeliveries, deliverClaimed, leaseMs, recordOutcome, startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { sleep, startApp } from '../support/harness.ts';
import { createEndpoint, startReceiver, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let first: App;
let second: App;
let receiver: Receiver;
const env = { WEBHOOK_POLL_MS: '20', WEBHOOK_TIMEOUT_MS: '1000' };
beforeAll(async () => {
  [first, second] = await Promise.all([startApp(env), startApp(env)]);
  receiver = await startReceiver(() => ({ status: 200 }));
});
afterAll(async () => {
  await receiver.close();
  await Promise.all([first.close(), second.close()]);
});

/** An organization with one endpoint on the receiver and `n` events queued for it. */
async function queue(n: number) {
  const org = await seedOrganization(first);
  const { id } = await createEndpoint(first, org.token, { url: receiver.url, eventTypes: ['seat.*'] });
  const eventIds = await inTenant(first.services.db, org.orgId, (tx) =>
    emitEvents(
      tx,
      org.orgId,
      Array.from({ length: n }, (_, i) => ({ type: 'seat.acquired' as const, data: { n: i } })),
    ),
  );
  return { org, endpointId: id, eventIds };
}

const requestsFor = (eventIds: string[]) => {
  const ids = new Set(eventIds);
  return receiver.requests.filter((r) => ids.has(String(r.headers['webhook-id'])));
};

async function waitUntilDelivered(app: App, endpointId: string, n: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ delivered } = { delivered: 0 }] = await app.services.db
      .select({ delivered: count() })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, 'DELIVERED')));
    if (delivered >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${delivered}/${n} delivered`);
    await sleep(50);
  }
}

// Waiting for 1,000 deliveries is bounded by waitUntilDelivered, not by the default test timeout.
describe('webhook workers', { timeout: 150_000 }, () => {
  it('two workers at once over 1,000 due deliveries deliver each exactly once', async () => {
    const { org, endpointId, eventIds } = await queue(1000);
    const scope = { organizationId: org.orgId };
    const workers = [startWebhookWorker(first.services, scope), startWebhookWorker(second.services, scope)];
    try {
      await waitUntilDelivered(first, endpointId, 1000);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const received = requestsFor(eventIds);
    expect(received).toHaveLength(1000);
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1000);

    const deliveries = await first.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
    expect(deliveries.every((d) => d.status === 'DELIVERED' && d.attempts === 1 && d.claimToken === null)).toBe(true);
    const [{ attempts } = { attempts: 0 }] = await first.services.db
      .select({ attempts: count() })
      .from(webhookAttempts)
      .where(
        inArray(
          webhookAttempts.deliveryId,
          deliveries.map((d) => d.id),
        ),
      );
    expect(attempts).toBe(1000);
  });

  it('a worker killed in the middle of a batch loses nothing: after its lease another worker delivers every event, none twice', async () => {
    const { org, endpointId, eventIds } = await queue(50);
    const scope = { organizationId: org.orgId };
    // The first worker claims a batch and dies before sending any of it.
    const orphaned = await claimDueDeliveries(first.services, 20, scope);
    expect(orphaned).toHaveLength(20);
    const claimedAt = Date.now();

    const survivor = startWebhookWorker(second.services, scope);
    try {
      await waitUntilDelivered(second, endpointId, 30);
      // While the lease runs, the orphaned claims are nobody else's.
      if (Date.now() - claimedAt < leaseMs(first.services) - 200) {
        expect(requestsFor(eventIds)).toHaveLength(30);
      }
      await waitUntilDelivered(second, endpointId, 50);
    } finally {
      await survivor.stop();
    }
    const received = requestsFor(eventIds);
    expect(received).toHaveLength(50);
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(50);

    // Should the dead worker come back with its old batch, it sends nothing and records nothing.
    await deliverClaimed(first.services, orphaned);
    await expect(recordOutcome(first.services, orphaned[0]!, { status: 'DELIVERED' })).resolves.toBeUndefined();
    await sleep(100);
    expect(requestsFor(eventIds)).toHaveLength(50);
    const deliveries = await first.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
    expect(deliveries.every((d) => d.status === 'DELIVERED' && d.attempts === 1)).toBe(true);
  });

  it('records an outcome only for the claim that still owns the delivery', async () => {
    const { org, endpointId } = await queue(1);
    const scope = { organizationId: org.orgId };
    const [stale] = await claimDueDeliveries(first.services, 1, scope);
    // Its lease lapses and a second worker takes the delivery over.
    await first.services.db
      .update(webhookDeliveries)
      .set({ nextAttemptAt: new Date(Date.now() - 1000) })
      .where(eq(webhookDeliveries.endpointId, endpointId));
    const [current] = await claimDueDeliveries(second.services, 1, scope);
    expect(current!.delivery.id).toBe(stale!.delivery.id);

    const attempt = { statusCode: 200, durationMs: 5, responseBody: null, error: null };
    expect(await recordOutcome(first.services, stale!, { status: 'DELIVERED', attempt })).toBeUndefined();
    expect(await recordOutcome(second.services, current!, { status: 'DELIVERED', attempt })).toMatchObject({
      status: 'DELIVERED',
      attempts: 1,
    });
    expect(await recordOutcome(second.services, current!, { status: 'DELIVERED', attempt })).toBeUndefined();
    expect(await first.services.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, current!.delivery.id))).toHaveLength(
      1,
    );
  });
});
