/**
 * A claim takes no more of an endpoint than the worker has room for: an endpoint's deliveries
 * past its room stay in the queue for another worker (nothing is claimed only to be given back),
 * an endpoint at its cap is not looked at, and the room left goes to the next endpoint's.
 */
import { and, eq, isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookDeliveries } from '../../src/db/schema.ts';
import { inTenant } from '../../src/db/tenant.ts';
import { emitEvents } from '../../src/services/webhooks/events.ts';
import { claimRound } from '../../src/services/webhooks/worker.ts';
import { sleep, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createEndpoint } from '../support/webhooks.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.close();
});

/** An organization with two endpoints, `first` with 10 deliveries due before `second`'s 10. */
async function twoBacklogs() {
  const org = await seedOrganization(app);
  // Nothing listens there: these tests only claim.
  const first = await createEndpoint(app, org.token, { url: 'https://first.invalid/hook', eventTypes: ['custom.first'] });
  const second = await createEndpoint(app, org.token, { url: 'https://second.invalid/hook', eventTypes: ['custom.second'] });
  const emit = (type: 'custom.first' | 'custom.second') =>
    inTenant(app.services.db, org.orgId, (tx) =>
      emitEvents(
        tx,
        org.orgId,
        Array.from({ length: 10 }, (_, n) => ({ type, data: { n } })),
      ),
    );
  await emit('custom.first');
  await sleep(20);
  await emit('custom.second');
  return { org, first: first.id, second: second.id };
}

/** How many of the endpoint's deliveries some claim holds. */
const claimedOf = async (endpointId: string) =>
  (
    await app.services.db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpointId), isNotNull(webhookDeliveries.claimToken)))
  ).length;

describe('a claim with a per-endpoint cap', () => {
  it('takes each endpoint up to its room only and leaves the rest unclaimed', async () => {
    const { org, first, second } = await twoBacklogs();
    const round = await claimRound(app.services, 20, { organizationId: org.orgId }, { cap: 3, inFlight: new Map([[first, 1]]) });
    const of = (endpointId: string) => round.claims.filter((c) => c.delivery.endpointId === endpointId);
    expect(of(first)).toHaveLength(2);
    expect(of(second)).toHaveLength(3);
    // It looked at 20 due deliveries: more may be due behind them.
    expect(round.full).toBe(true);
    expect(await claimedOf(first)).toBe(2);
    expect(await claimedOf(second)).toBe(3);
  });

  it('does not look at an endpoint at its cap, so its backlog does not hide the next endpoint', async () => {
    const { org, first, second } = await twoBacklogs();
    const round = await claimRound(app.services, 20, { organizationId: org.orgId }, { cap: 3, inFlight: new Map([[first, 3]]) });
    expect(round.claims.map((c) => c.delivery.endpointId)).toEqual([second, second, second]);
    // It looked at the second endpoint's 10 alone: nothing else is due.
    expect(round.full).toBe(false);
    expect(await claimedOf(first)).toBe(0);
  });

  it('without a cap takes the oldest due, whatever their endpoint', async () => {
    const { org, first } = await twoBacklogs();
    const round = await claimRound(app.services, 10, { organizationId: org.orgId });
    expect(round.claims.every((c) => c.delivery.endpointId === first)).toBe(true);
    expect(round.claims).toHaveLength(10);
  });
});
