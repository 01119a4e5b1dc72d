/**
 * The webhook operations integrations expect of a Svix-like sender: events of their own
 * (`publishEvent`), recovering every failed delivery of an endpoint at once, and endpoints that
 * fail for WEBHOOK_DISABLE_AFTER_HOURS disabled with an `endpoint.disabled` event. Hours of
 * failure pass on the services' clock; the worker runs one round at a time, so each attempt is
 * the test's own.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../src/db/schema.ts';
import { createApiKey } from '../../src/services/apiKeys/management.ts';
import type { Actor } from '../../src/services/context.ts';
import { SCOPES } from '../../src/services/principals.ts';
import { deliverDueWebhooks } from '../../src/services/webhooks/worker.ts';
import { MINUTE, movableClock } from '../support/clock.ts';
import { gql, sleep, startApp } from '../support/harness.ts';
import { createEndpoint, startReceiver, verifiesStandardWebhook, verifiesXWebhookSignature, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

// Longer than any failing stretch below, whose clock runs ahead of the events' creation times.
const MAX_EVENT_AGE_SECONDS = 3 * 3600;
const clock = movableClock();
let app: App;
let receiver: Receiver;
beforeAll(async () => {
  app = await startApp(
    {
      WEBHOOK_MAX_ATTEMPTS: '2',
      WEBHOOK_BACKOFF_SECONDS: '0.05',
      WEBHOOK_DISABLE_AFTER_HOURS: '1',
      WEBHOOK_MAX_EVENT_AGE_SECONDS: String(MAX_EVENT_AGE_SECONDS),
    },
    { clock },
  );
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await app.close();
});
beforeEach(() => {
  clock.reset();
  receiver.requests.length = 0;
  receiver.respondWith(() => ({ status: 200, body: 'ok' }));
});

async function organization() {
  const org = await seedOrganization(app);
  const actor: Actor = { type: 'user', id: org.userId, orgId: org.orgId, requestId: null };
  const key = await createApiKey(app.services, actor, { name: 'integration', environment: 'live', scopes: ['webhooks:write'] }, SCOPES);
  if (!key.ok) throw key.error;
  return { ...org, actor, apiKey: key.value.secret };
}

const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) {
  __typename ... on EventPublished { eventId } ... on InvalidInput { field message } } }`;

async function publish(token: string, type: string, payload: Record<string, unknown>) {
  const r = await gql(app, PUBLISH, { input: { type, payload } }, token);
  const published = r.data?.publishEvent;
  if (published?.__typename !== 'EventPublished') throw new Error(`publishEvent failed: ${JSON.stringify(r)}`);
  return published.eventId as string;
}

const RECOVER = `mutation($endpointId: ID!, $since: DateTime!) { recoverWebhookDeliveries(endpointId: $endpointId, since: $since) {
  __typename ... on WebhookDeliveriesRecovered { count } ... on Error { code message } } }`;

/** One worker round for the organization: every due delivery attempted once, its outcome recorded. */
const round = (orgId: string) => deliverDueWebhooks(app.services, { organizationId: orgId });

const deliveriesOf = (endpointId: string) =>
  app.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));

const statusOf = async (endpointId: string, eventId: string) =>
  (
    await app.services.db
      .select({ status: webhookDeliveries.status })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.eventId, eventId)))
  )[0]?.status;

const endpointRow = async (id: string) => (await app.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0]!;

const eventIdOf = (body: string) => (JSON.parse(body) as { id: string }).id;
const isCustom = (body: string) => (JSON.parse(body) as { type: string }).type.startsWith('custom.');

describe('custom events', () => {
  it('reach a subscribed receiver with both signatures, the payload as data, and are audited', async () => {
    const org = await organization();
    const endpoint = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['custom.*'] });
    const exact = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['custom.order.paid'] });
    const licensesOnly = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['license.*'] });
    const payload = { orderId: 'ord_42', amount: 1999, lines: [{ sku: 'pro', seats: 5 }] };
    const eventId = await publish(org.apiKey, 'custom.order.paid', payload);

    expect(await round(org.orgId)).toBe(2);
    expect(receiver.requests).toHaveLength(2);
    for (const request of receiver.requests) {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      expect(body).toMatchObject({ id: eventId, type: 'custom.order.paid', data: payload });
      expect(request.headers['x-webhook-event-id']).toBe(eventId);
    }
    const verifiedBy = (secret: string) =>
      receiver.requests.filter((r) => verifiesXWebhookSignature(secret, r) && verifiesStandardWebhook(secret, r));
    expect(verifiedBy(endpoint.secret)).toHaveLength(1);
    expect(verifiedBy(exact.secret)).toHaveLength(1);
    expect(await deliveriesOf(licensesOnly.id)).toEqual([]);
    expect((await deliveriesOf(endpoint.id)).map((d) => d.status)).toEqual(['DELIVERED']);

    const [audit] = await app.services.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.orgId, org.orgId), eq(auditLogs.action, 'event.published')));
    expect(audit).toMatchObject({
      actorType: 'apiKey',
      resourceType: 'webhookEvent',
      resourceId: eventId,
      data: { type: 'custom.order.paid' },
    });
  });

  it('go to endpoints subscribed to everything, and stay inside the organization', async () => {
    const org = await organization();
    const other = await organization();
    const everything = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['*'] });
    const elsewhere = await createEndpoint(app, other.token, { url: receiver.url, eventTypes: ['*'] });
    const eventId = await publish(org.apiKey, 'custom.plan-changed', { plan: 'team' });
    expect((await deliveriesOf(everything.id)).map((d) => d.eventId)).toEqual([eventId]);
    expect(await deliveriesOf(elsewhere.id)).toEqual([]);
    const [event] = await app.services.db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId));
    expect(event).toMatchObject({ orgId: org.orgId, type: 'custom.plan-changed', data: { plan: 'team' } });
  });
});

describe('recoverWebhookDeliveries', () => {
  it('sends again exactly the FAILED, DEAD and REPLAY_EXPIRED deliveries since the given time, each once', async () => {
    const org = await organization();
    const endpoint = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['custom.*'] });
    const failing = new Set<string>();
    const slowRetry = new Set<string>();
    receiver.respondWith((request) => {
      const id = eventIdOf(request.body);
      if (slowRetry.has(id)) return { status: 503, headers: { 'retry-after': '3600' } };
      return failing.has(id) ? { status: 500 } : { status: 200 };
    });

    // Before `since`: a delivery that died stays dead.
    const older = await publish(org.apiKey, 'custom.step', { n: 0 });
    failing.add(older);
    await round(org.orgId);
    await sleep(80);
    await round(org.orgId);
    expect(await statusOf(endpoint.id, older)).toBe('DEAD');
    await sleep(5);
    const since = new Date();

    const delivered = [await publish(org.apiKey, 'custom.step', { n: 1 }), await publish(org.apiKey, 'custom.step', { n: 2 })];
    const dead = [await publish(org.apiKey, 'custom.step', { n: 3 }), await publish(org.apiKey, 'custom.step', { n: 4 })];
    dead.forEach((id) => failing.add(id));
    await round(org.orgId);
    await sleep(80);
    await round(org.orgId);
    for (const id of delivered) expect(await statusOf(endpoint.id, id)).toBe('DELIVERED');
    for (const id of dead) expect(await statusOf(endpoint.id, id)).toBe('DEAD');

    // A receiver asking for an hour's wait leaves its delivery FAILED, due in an hour.
    const failed = await publish(org.apiKey, 'custom.step', { n: 5 });
    slowRetry.add(failed);
    await round(org.orgId);
    expect(await statusOf(endpoint.id, failed)).toBe('FAILED');

    // An event older than the maximum age when its attempt comes due is not sent.
    const expired = await publish(org.apiKey, 'custom.step', { n: 6 });
    clock.advance(MAX_EVENT_AGE_SECONDS * 1000 + MINUTE);
    await round(org.orgId);
    clock.reset();
    expect(await statusOf(endpoint.id, expired)).toBe('REPLAY_EXPIRED');

    receiver.requests.length = 0;
    failing.clear();
    slowRetry.clear();
    const r = await gql(app, RECOVER, { endpointId: endpoint.id, since: since.toISOString() }, org.token);
    expect(r.data?.recoverWebhookDeliveries).toEqual({ __typename: 'WebhookDeliveriesRecovered', count: 4 });
    expect(await round(org.orgId)).toBe(4);
    expect(receiver.requests.map((q) => eventIdOf(q.body)).sort()).toEqual([...dead, failed, expired].sort());
    for (const id of [...dead, failed, expired, ...delivered]) expect(await statusOf(endpoint.id, id)).toBe('DELIVERED');
    expect(await statusOf(endpoint.id, older)).toBe('DEAD');

    // Nothing is left to recover, and nothing more is sent.
    const again = await gql(app, RECOVER, { endpointId: endpoint.id, since: since.toISOString() }, org.token);
    expect(again.data?.recoverWebhookDeliveries).toEqual({ __typename: 'WebhookDeliveriesRecovered', count: 0 });
    expect(await round(org.orgId)).toBe(0);
    expect(receiver.requests).toHaveLength(4);
  });
});

describe('an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS', () => {
  const DISABLED_EVENTS = `query { webhookDeliveries(filter: { eventType: "endpoint.disabled" }) { edges { node { endpointId event { data } } } } }`;

  it('is disabled once, with its reason, and announced once to the other endpoints', async () => {
    const org = await organization();
    const broken = await createEndpoint(app, org.token, { url: `${receiver.url}?broken`, eventTypes: ['custom.*'] });
    const watcher = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['endpoint.disabled'] });
    receiver.respondWith((request) => (isCustom(request.body) ? { status: 500 } : { status: 200 }));
    const start = Date.now();
    clock.freeze(start);

    await publish(org.apiKey, 'custom.ping', { n: 1 });
    await round(org.orgId);
    expect((await endpointRow(broken.id)).failingSince?.getTime()).toBe(start);

    clock.advance(30 * MINUTE);
    await publish(org.apiKey, 'custom.ping', { n: 2 });
    await round(org.orgId);
    expect((await endpointRow(broken.id)).enabled).toBe(true);

    // Past the hour, eight failures are recorded at once: one of them disables the endpoint.
    clock.advance(31 * MINUTE);
    for (let n = 3; n <= 10; n++) await publish(org.apiKey, 'custom.ping', { n });
    await round(org.orgId);
    const disabled = await endpointRow(broken.id);
    expect(disabled.enabled).toBe(false);
    expect(disabled.failingSince?.getTime()).toBe(start);
    expect(disabled.disabledReason).toBe(
      `Every attempt failed for 1 hours (since ${new Date(start).toISOString()}); disabled on ${new Date(start + 61 * MINUTE).toISOString()}.`,
    );

    clock.reset(); // the access token is an hour old on the moved clock
    const announced = await gql(app, DISABLED_EVENTS, {}, org.token);
    expect(announced.errors).toBeUndefined();
    const edges = announced.data?.webhookDeliveries.edges as { node: { endpointId: string; event: { data: any } } }[];
    expect(edges).toHaveLength(1);
    expect(edges[0]!.node.endpointId).toBe(watcher.id);
    expect(edges[0]!.node.event.data).toMatchObject({
      endpoint: { id: broken.id, enabled: false, disabledReason: disabled.disabledReason },
      reason: disabled.disabledReason,
    });

    // Disabled, it is sent nothing more; enabling it starts the count of failing hours afresh.
    receiver.requests.length = 0;
    await round(org.orgId);
    expect(receiver.requests.filter((r) => isCustom(r.body))).toHaveLength(0);
    const ENABLE = `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: true }) {
      ... on WebhookEndpointUpdated { endpoint { enabled disabledReason failingSince } } } }`;
    const enabled = await gql(app, ENABLE, { id: broken.id }, org.token);
    expect(enabled.data?.updateWebhookEndpoint.endpoint).toEqual({ enabled: true, disabledReason: null, failingSince: null });
  });

  it('is not disabled when an answer got through in between: failures count from the last success', async () => {
    const org = await organization();
    const endpoint = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['custom.*'] });
    let healthy = false;
    receiver.respondWith(() => (healthy ? { status: 200 } : { status: 500 }));
    const start = Date.now();
    clock.freeze(start);
    await publish(org.apiKey, 'custom.ping', { n: 1 });
    await round(org.orgId);

    clock.advance(40 * MINUTE);
    healthy = true;
    await publish(org.apiKey, 'custom.ping', { n: 2 });
    await round(org.orgId);
    expect((await endpointRow(endpoint.id)).failingSince).toBeNull();

    clock.advance(40 * MINUTE);
    healthy = false;
    await publish(org.apiKey, 'custom.ping', { n: 3 });
    await round(org.orgId);
    const row = await endpointRow(endpoint.id);
    expect(row.enabled).toBe(true);
    expect(row.failingSince?.getTime()).toBe(start + 80 * MINUTE);
  });

  it('answering 410 Gone is disabled and announced once too', async () => {
    const org = await organization();
    const gone = await createEndpoint(app, org.token, { url: `${receiver.url}?gone`, eventTypes: ['custom.*'] });
    const watcher = await createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['endpoint.*'] });
    receiver.respondWith((request) => (isCustom(request.body) ? { status: 410 } : { status: 200 }));
    for (let n = 1; n <= 3; n++) await publish(org.apiKey, 'custom.ping', { n });
    await round(org.orgId);
    expect((await endpointRow(gone.id)).enabled).toBe(false);
    const announced = (await deliveriesOf(watcher.id)).filter((d) => d.eventType === 'endpoint.disabled');
    expect(announced).toHaveLength(1);
  });
});
