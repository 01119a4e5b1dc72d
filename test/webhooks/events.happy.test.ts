/**
 * Which changes become which events, and which endpoints get them: the license, seat and API
 * key lifecycles, seats refused for want of one, licenses about to expire, and test sends.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { licenses, webhookDeliveries, webhookEvents } from '../../src/db/schema.ts';
import { createApiKey, revokeApiKey, rotateApiKey } from '../../src/services/apiKeys/management.ts';
import type { Actor } from '../../src/services/context.ts';
import { announceExpiringLicenses } from '../../src/services/licenses/licenseExpiry.ts';
import { SCOPES } from '../../src/services/principals.ts';
import { sweepExpiredSessions } from '../../src/services/seats/sweeper.ts';
import { deliverDueWebhooks } from '../../src/services/webhooks/worker.ts';
import { acquire, gql, heartbeat, release, sleep, startApp } from '../support/harness.ts';
import { createEndpoint, createLicenseAs, startReceiver, waitForStatus } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

async function organization() {
  const org = await seedOrganization(app);
  const actor: Actor = { type: 'user', id: org.userId, orgId: org.orgId, requestId: null };
  return { ...org, actor };
}

const eventsOf = async (orgId: string) =>
  app.services.db.select().from(webhookEvents).where(eq(webhookEvents.orgId, orgId)).orderBy(asc(webhookEvents.createdAt));

const typesOf = async (orgId: string) => (await eventsOf(orgId)).map((e) => e.type);

const deliveredTypes = async (endpointId: string) =>
  (await app.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId)))
    .map((d) => d.eventType)
    .sort();

describe('webhook events', () => {
  it('go to each enabled endpoint whose event types match, exactly or by wildcard', async () => {
    const org = await organization();
    const url = 'https://hooks.example.com/routing';
    const licensesOnly = await createEndpoint(app, org.token, { url, eventTypes: ['license.*'] });
    const acquiredOnly = await createEndpoint(app, org.token, { url, eventTypes: ['seat.acquired'] });
    const everything = await createEndpoint(app, org.token, { url, eventTypes: ['*'] });
    const disabled = await createEndpoint(app, org.token, { url, eventTypes: ['*'], enabled: false });
    const license = await createLicenseAs(app, org.token);
    await acquire(app, license.key, 'routing-machine');
    expect(await deliveredTypes(licensesOnly.id)).toEqual(['license.created']);
    expect(await deliveredTypes(acquiredOnly.id)).toEqual(['seat.acquired']);
    expect(await deliveredTypes(everything.id)).toEqual(['license.created', 'seat.acquired']);
    expect(await deliveredTypes(disabled.id)).toEqual([]);
  });

  it('are written for an organization with no endpoint too, and stay within it', async () => {
    const org = await organization();
    const other = await organization();
    await createLicenseAs(app, org.token);
    expect(await typesOf(org.orgId)).toEqual(['license.created']);
    expect(await typesOf(other.orgId)).toEqual([]);
  });

  it('follow a seat through acquire, release, revoke and expiry', async () => {
    const org = await organization();
    const license = await createLicenseAs(app, org.token, { maxSeats: 3, leaseSeconds: 1 });
    const released = await acquire(app, license.key, 'released');
    const revoked = await acquire(app, license.key, 'revoked');
    const expired = await acquire(app, license.key, 'expired');
    await release(app, license.key, released.session.id);
    await gql(app, `mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`, { id: revoked.session.id }, org.token);
    await sleep(1100);
    await sweepExpiredSessions(app.services);

    const events = await eventsOf(org.orgId);
    const bySession = (type: string, sessionId: string) =>
      events.filter((e) => e.type === type && (e.data as { session?: { id: string } }).session?.id === sessionId);
    expect(bySession('seat.acquired', released.session.id)).toHaveLength(1);
    expect(bySession('seat.released', released.session.id)[0]!.data).toMatchObject({
      session: { licenseId: license.id, fingerprint: 'released', endReason: 'RELEASED', endedAt: expect.any(String) },
    });
    // Every session event carries the session in one shape: the ended one is the acquired one, ended.
    const sessionOf = (type: string) => (bySession(type, released.session.id)[0]!.data as { session: Record<string, unknown> }).session;
    expect(sessionOf('seat.released')).toEqual({
      ...sessionOf('seat.acquired'),
      endedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      endReason: 'RELEASED',
    });
    expect(bySession('seat.revoked', revoked.session.id)).toHaveLength(1);
    expect(bySession('seat.expired', expired.session.id)).toHaveLength(1);
    expect(
      events
        .filter((e) => e.type.startsWith('seat.'))
        .map((e) => e.type)
        .sort(),
    ).toEqual(['seat.acquired', 'seat.acquired', 'seat.acquired', 'seat.expired', 'seat.released', 'seat.revoked']);
  });

  it("carry on every seat end the seat count its ending left, as seat.acquired carries its grant's", async () => {
    const org = await organization();
    const license = await createLicenseAs(app, org.token, { maxSeats: 4, leaseSeconds: 3 });
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((fp) => acquire(app, license.key, fp)));
    await release(app, license.key, a.session.id);
    await gql(app, `mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`, { id: b.session.id }, org.token);
    // c is kept alive past d's expiry, d expires: the sweep's count is c's seat alone.
    await sleep(1000);
    expect(await heartbeat(app, license.key, c.session.id)).toMatchObject({ __typename: 'SeatRenewed' });
    await sleep(Math.max(0, Date.parse(d.session.expiresAt) + 200 - Date.now()));
    await sweepExpiredSessions(app.services);
    await gql(app, `mutation($id: ID!) { suspendLicense(input: { id: $id }) { __typename } }`, { id: license.id }, org.token);

    const events = await eventsOf(org.orgId);
    const seatsOf = (type: string, sessionId: string) =>
      events
        .filter((e) => e.type === type && (e.data as { session: { id: string } }).session?.id === sessionId)
        .map((e) => (e.data as { seats: unknown }).seats);
    const count = (used: number) => ({ licenseId: license.id, used, max: 4, changedAt: expect.stringMatching(/Z$/) });
    expect(seatsOf('seat.released', a.session.id)).toEqual([count(3)]);
    expect(seatsOf('seat.revoked', b.session.id)).toEqual([count(2)]);
    expect(seatsOf('seat.expired', d.session.id)).toEqual([count(1)]);
    expect(seatsOf('seat.revoked', c.session.id)).toEqual([count(0)]);
    expect(seatsOf('seat.acquired', a.session.id)).toEqual([expect.objectContaining({ licenseId: license.id, max: 4 })]);
  });

  it('announce a refused seat as seat.limit-reached once per quiet period, however many clients are refused', async () => {
    const org = await organization();
    const license = await createLicenseAs(app, org.token, { maxSeats: 1 });
    await acquire(app, license.key, 'holder');
    const refusals = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((fp) => acquire(app, license.key, fp)));
    expect(refusals.every((r) => r.__typename === 'NoSeatsAvailable')).toBe(true);
    const limit = (await eventsOf(org.orgId)).filter((e) => e.type === 'seat.limit-reached');
    expect(limit).toHaveLength(1);
    expect(limit[0]!.data).toMatchObject({ licenseId: license.id, seats: { used: 1, max: 1 } });
  });

  it('follow an API key through creation, rotation and revocation, never carrying its secret or hash', async () => {
    const org = await organization();
    const created = await createApiKey(app.services, org.actor, { name: 'events', environment: 'live', scopes: ['licenses:read'] }, SCOPES);
    if (!created.ok) throw created.error;
    const rotated = await rotateApiKey(app.services, org.actor, created.value.apiKey.id, { preserveKeyId: false });
    if (!rotated.ok) throw rotated.error;
    await revokeApiKey(app.services, org.actor, rotated.value.apiKey.id, 'leaked');
    const events = await eventsOf(org.orgId);
    const ofType = (type: string) => events.filter((e) => e.type === type).map((e) => e.data);
    expect(ofType('apikey.created')).toMatchObject([
      { apiKey: { id: created.value.apiKey.id } },
      { apiKey: { id: rotated.value.apiKey.id } },
    ]);
    expect(ofType('apikey.rotated')).toMatchObject([{ apiKey: { id: created.value.apiKey.id }, replacedBy: rotated.value.apiKey.id }]);
    expect(ofType('apikey.revoked')).toMatchObject([{ apiKey: { id: rotated.value.apiKey.id, revokeReason: 'leaked' } }]);
    const text = JSON.stringify(events.map((e) => e.data));
    for (const secret of [created.value.secret, rotated.value.secret]) expect(text).not.toContain(secret.slice(8));
    expect(text).not.toContain(created.value.apiKey.secretHash);
  });

  it('announce a license expiring within the warning period once per expiry date, again after a renewal', async () => {
    const org = await organization();
    const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    const soon = await createLicenseAs(app, org.token, { expiresAt: inDays(2) });
    const later = await createLicenseAs(app, org.token, { expiresAt: inDays(30) });
    const announceAll = async () => {
      while ((await announceExpiringLicenses(app.services)) > 0);
    };
    const warnings = async () => (await eventsOf(org.orgId)).filter((e) => e.type === 'license.expiring-soon');

    await announceAll();
    await announceAll();
    expect((await warnings()).map((e) => (e.data as { license: { id: string } }).license.id)).toEqual([soon.id]);
    const [row] = await app.services.db.select().from(licenses).where(eq(licenses.id, soon.id));
    expect(row!.expiryWarningSentFor?.getTime()).toBe(row!.expiresAt!.getTime());

    await gql(
      app,
      `mutation($id: ID!, $at: DateTime!) { renewLicense(input: { id: $id, expiresAt: $at }) { __typename } }`,
      { id: soon.id, at: inDays(3) },
      org.token,
    );
    await announceAll();
    expect(await warnings()).toHaveLength(2);
    expect((await warnings()).some((e) => (e.data as { license: { id: string } }).license.id === later.id)).toBe(false);
  });

  it('send a webhook.test event to the endpoint named, whatever it subscribes to', async () => {
    const org = await organization();
    const receiver = await startReceiver();
    try {
      const { id } = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['apikey.revoked'] });
      const r = await gql(
        app,
        `mutation($id: ID!) { sendTestWebhook(input: { endpointId: $id }) { __typename ... on WebhookDeliveryQueued { delivery { id status eventType } } } }`,
        { id },
        org.token,
      );
      expect(r.data!.sendTestWebhook).toMatchObject({ delivery: { status: 'PENDING', eventType: 'webhook.test' } });
      await deliverDueWebhooks(app.services, { organizationId: org.orgId });
      await waitForStatus(app, id, ['DELIVERED']);
      expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ type: 'webhook.test', data: { endpointId: id } });
      const deliveries = await app.services.db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.endpointId, id), sql`${webhookDeliveries.eventType} <> 'webhook.test'`));
      expect(deliveries).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
