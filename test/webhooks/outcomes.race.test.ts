/**
 * Outcomes recorded many at a time keep the guarantees of one at a time: each row is written only
 * under the claim that still owns it, so a delivery is DELIVERED once with one attempt however
 * batches and lapsed claims race, and a lapsed claim's batch records nothing of what was taken over.
 */
import { count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookAttempts, webhookDeliveries } from '../../src/db/schema.ts';
import { inTenant } from '../../src/db/tenant.ts';
import { emitEvents } from '../../src/services/webhooks/events.ts';
import { claimDueDeliveries, outcomeRecorder, recordOutcomes, type Claim } from '../../src/services/webhooks/worker.ts';
import { startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createEndpoint } from '../support/webhooks.ts';

let first: App;
let second: App;
beforeAll(async () => {
  [first, second] = await Promise.all([startApp(), startApp()]);
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});

const delivered = { status: 'DELIVERED' as const, attempt: { statusCode: 200, durationMs: 3, responseBody: 'ok', error: null } };

/** An organization with one endpoint and `n` deliveries due to it. */
async function queue(n: number) {
  const org = await seedOrganization(first);
  // Nothing listens there: these tests record outcomes themselves and never send.
  const { id } = await createEndpoint(first, org.token, { url: 'https://receiver.invalid/hook', eventTypes: ['seat.*'] });
  await inTenant(first.services.db, org.orgId, (tx) =>
    emitEvents(
      tx,
      org.orgId,
      Array.from({ length: n }, (_, i) => ({ type: 'seat.acquired' as const, data: { n: i } })),
    ),
  );
  return { org, endpointId: id };
}

/** Lets the given claims lapse, as if their lease ran out. */
async function lapse(app: App, claims: Claim[]) {
  await app.services.db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: new Date(Date.now() - 1000) })
    .where(
      inArray(
        webhookDeliveries.id,
        claims.map((c) => c.delivery.id),
      ),
    );
}

async function attemptsPerDelivery(endpointId: string) {
  const deliveries = await first.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
  const attempts = await first.services.db
    .select({ deliveryId: webhookAttempts.deliveryId, n: count(), numbers: webhookAttempts.attempt })
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        deliveries.map((d) => d.id),
      ),
    )
    .groupBy(webhookAttempts.deliveryId, webhookAttempts.attempt);
  return { deliveries, attempts };
}

describe('outcomes recorded in batches', () => {
  it('of 200 claims whose half lapsed and was taken over, each owner records its own rows only: 200 deliveries, 200 attempts, none twice', async () => {
    const { org, endpointId } = await queue(200);
    const scope = { organizationId: org.orgId };
    const stale = await claimDueDeliveries(first.services, 200, scope);
    expect(stale).toHaveLength(200);
    await lapse(first, stale.slice(0, 100));
    const current = await claimDueDeliveries(second.services, 200, scope);
    expect(current).toHaveLength(100);

    // The lapsed claim's batch and its successor's race for the same 100 rows.
    const [fromStale, fromCurrent] = await Promise.all([
      recordOutcomes(
        first.services,
        org.orgId,
        stale.map((claim) => ({ claim, outcome: delivered })),
      ),
      recordOutcomes(
        second.services,
        org.orgId,
        current.map((claim) => ({ claim, outcome: delivered })),
      ),
    ]);
    expect(fromStale.slice(0, 100).every((row) => row === undefined)).toBe(true);
    expect(fromStale.slice(100).every((row) => row?.status === 'DELIVERED' && row.attempts === 1)).toBe(true);
    expect(fromCurrent.every((row) => row?.status === 'DELIVERED' && row.attempts === 1)).toBe(true);

    const { deliveries, attempts } = await attemptsPerDelivery(endpointId);
    expect(deliveries).toHaveLength(200);
    expect(deliveries.every((d) => d.status === 'DELIVERED' && d.attempts === 1 && d.claimToken === null && d.deliveredAt !== null)).toBe(
      true,
    );
    expect(attempts).toHaveLength(200);
    expect(attempts.every((a) => a.n === 1 && a.numbers === 1)).toBe(true);
  });

  it('the same 100 outcomes sent to two recorders at once are written once: 100 deliveries, 100 attempts', async () => {
    const { org, endpointId } = await queue(100);
    const claims = await claimDueDeliveries(first.services, 100, { organizationId: org.orgId });
    const recorders = [outcomeRecorder(first.services), outcomeRecorder(second.services)];
    const answers = await Promise.all(recorders.flatMap((recorder) => claims.map((claim) => recorder.record(claim, delivered))));
    expect(answers.filter((row) => row !== undefined)).toHaveLength(100);

    const { deliveries, attempts } = await attemptsPerDelivery(endpointId);
    expect(deliveries.every((d) => d.status === 'DELIVERED' && d.attempts === 1)).toBe(true);
    expect(attempts).toHaveLength(100);
    expect(attempts.every((a) => a.n === 1)).toBe(true);
  });

  it('a batch whose every claim lapsed records nothing', async () => {
    const { org, endpointId } = await queue(20);
    const scope = { organizationId: org.orgId };
    const stale = await claimDueDeliveries(first.services, 20, scope);
    await lapse(first, stale);
    await claimDueDeliveries(second.services, 20, scope);

    const rows = await recordOutcomes(
      first.services,
      org.orgId,
      stale.map((claim) => ({ claim, outcome: delivered })),
    );
    expect(rows.every((row) => row === undefined)).toBe(true);
    const { deliveries, attempts } = await attemptsPerDelivery(endpointId);
    expect(deliveries.every((d) => d.status === 'PENDING' && d.attempts === 0 && d.claimToken !== null)).toBe(true);
    expect(attempts).toHaveLength(0);
  });
});
