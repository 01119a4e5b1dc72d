/**
 * The outbox: an event is written in the transaction of the change it reports. A change whose
 * transaction rolls back leaves no event, an event that cannot be written takes its change
 * down with it, and every committed change has its event.
 */
import { and, eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, licenses, webhookDeliveries, webhookEvents } from '../../src/db/schema.ts';
import { inTenant } from '../../src/db/tenant.ts';
import type { Actor } from '../../src/services/context.ts';
import { emitEvent } from '../../src/services/webhooks/events.ts';
import { changeLicenseLifecycle, updateLicense } from '../../src/services/licenses/licenses.ts';
import { DATABASE_URL, acquire, gql, startApp } from '../support/harness.ts';
import { createEndpoint, createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let org: Awaited<ReturnType<typeof seedOrganization>>;
let actor: Actor;
beforeAll(async () => {
  app = await startApp();
  org = await seedOrganization(app);
  actor = { type: 'user', id: org.userId, orgId: org.orgId, requestId: null };
  await createEndpoint(app, org.token, { url: 'https://hooks.example.com/outbox', eventTypes: ['*'] });
});
// The tables' owner: the app's own role may not put a trigger on them.
const owner = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
afterAll(async () => {
  await owner.end();
  await app.close();
});

const eventsOf = (type: string) =>
  app.services.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.orgId, org.orgId), eq(webhookEvents.type, type)));

/**
 * Makes `table` fail every write of this organization's rows while `work` runs: a trigger
 * raising an error, so the failure happens inside the same transaction as the change.
 */
async function failingWritesTo(table: 'seat_sessions' | 'webhook_events', timing: 'update' | 'insert', work: () => Promise<void>) {
  const name = `fail_${crypto.randomUUID().replace(/-/g, '')}`;
  await owner.unsafe(`create function ${name}() returns trigger language plpgsql as $$
      begin if new.org_id = '${org.orgId}' then raise exception 'injected failure'; end if; return new; end $$`);
  await owner.unsafe(`create trigger ${name} before ${timing} on ${table} for each row execute function ${name}()`);
  try {
    await work();
  } finally {
    await owner.unsafe(`drop trigger ${name} on ${table}`);
    await owner.unsafe(`drop function ${name}()`);
  }
}

describe('the webhook outbox', () => {
  it('leaves no event of a license change whose transaction rolls back after the event was written', async () => {
    const license = await createLicenseAs(app, org.token, { maxSeats: 2 });
    await acquire(app, license.key, 'machine-1');
    // Suspending writes license.suspended, then ends the open session: that write fails.
    await failingWritesTo('seat_sessions', 'update', async () => {
      await expect(changeLicenseLifecycle(app.services, actor, license.id, 'suspended')).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
    });
    const [row] = await app.services.db.select().from(licenses).where(eq(licenses.id, license.id));
    expect(row!.status).toBe('ACTIVE');
    expect(await eventsOf('license.suspended')).toEqual([]);
    expect(await eventsOf('seat.revoked')).toEqual([]);
    const deliveries = await app.services.db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.orgId, org.orgId), eq(webhookDeliveries.eventType, 'license.suspended')));
    expect(deliveries).toEqual([]);

    // Committed, the same change has its event, and so does the session it ends.
    expect((await changeLicenseLifecycle(app.services, actor, license.id, 'suspended')).ok).toBe(true);
    expect(await eventsOf('license.suspended')).toHaveLength(1);
    expect(await eventsOf('seat.revoked')).toHaveLength(1);
  });

  it('does not make a license change whose event cannot be written', async () => {
    const license = await createLicenseAs(app, org.token, { maxSeats: 2 });
    await failingWritesTo('webhook_events', 'insert', async () => {
      await expect(updateLicense(app.services, actor, license.id, { maxSeats: 9 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    });
    const [row] = await app.services.db.select().from(licenses).where(eq(licenses.id, license.id));
    expect(row!.maxSeats).toBe(2);
    const audit = await app.services.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceId, license.id), eq(auditLogs.action, 'license.updated')));
    expect(audit).toEqual([]);
  });

  it('writes nothing when the caller’s transaction rolls back', async () => {
    const marker = crypto.randomUUID();
    await expect(
      inTenant(app.services.db, org.orgId, async (tx) => {
        await emitEvent(tx, org.orgId, 'license.updated', { marker });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const rows = await app.services.db.execute(sql`select id from webhook_events where data->>'marker' = ${marker}`);
    expect((rows as { rows?: unknown[] }).rows ?? rows).toHaveLength(0);
  });

  it('has exactly one event, with its delivery, for every committed license change, in order', async () => {
    const license = await createLicenseAs(app, org.token, { maxSeats: 1 });
    const mutate = (field: string, input: string) =>
      gql(app, `mutation($id: ID!) { ${field}(input: { id: $id${input} }) { __typename } }`, { id: license.id }, org.token);
    expect((await mutate('updateLicense', ', maxSeats: 3')).data!.updateLicense.__typename).toBe('LicenseUpdated');
    expect((await mutate('suspendLicense', ', reason: "unpaid"')).data!.suspendLicense.__typename).toBe('LicenseUpdated');
    expect((await mutate('reinstateLicense', '')).data!.reinstateLicense.__typename).toBe('LicenseUpdated');
    expect((await mutate('renewLicense', ', expiresAt: "2040-01-01T00:00:00Z"')).data!.renewLicense.__typename).toBe('LicenseUpdated');
    expect((await mutate('revokeLicense', '')).data!.revokeLicense.__typename).toBe('LicenseUpdated');
    // A refused change (a revoked license cannot be reinstated) has no event.
    expect((await mutate('reinstateLicense', '')).data!.reinstateLicense.__typename).toBe('InvalidInput');

    const events = await app.services.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.orgId, org.orgId), sql`${webhookEvents.data}->'license'->>'id' = ${license.id}`))
      .orderBy(webhookEvents.createdAt);
    expect(events.map((e) => e.type)).toEqual([
      'license.created',
      'license.updated',
      'license.suspended',
      'license.reinstated',
      'license.renewed',
      'license.revoked',
    ]);
    expect(events[2]!.data).toMatchObject({
      from: 'ACTIVE',
      to: 'SUSPENDED',
      reason: 'unpaid',
      license: { id: license.id, status: 'SUSPENDED' },
    });
    expect(events[4]!.data).toMatchObject({ license: { expiresAt: '2040-01-01T00:00:00.000Z' } });
    for (const event of events) {
      expect(await app.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, event.id))).toHaveLength(1);
    }
  });
});
