/**
 * What the webhook operations refuse: custom events of a malformed type or payload (nothing is
 * written), recovery for an endpoint that is not the caller's or from a time to come, and event
 * type patterns that name nothing.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookEvents } from '../../src/db/schema.ts';
import { gql, startApp } from '../support/harness.ts';
import { CREATE_ENDPOINT, createEndpoint } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) {
  __typename ... on EventPublished { eventId } ... on InvalidInput { code field message } } }`;

const RECOVER = `mutation($endpointId: ID!, $since: DateTime!) { recoverWebhookDeliveries(endpointId: $endpointId, since: $since) {
  __typename ... on WebhookDeliveriesRecovered { count } ... on InvalidInput { field } ... on Error { code message } } }`;

const nested = (depth: number): Record<string, unknown> => (depth === 0 ? {} : { a: nested(depth - 1) });

describe('publishEvent', () => {
  it.each([
    ['a type outside custom.', 'license.created', { ok: true }, 'type'],
    ['a bare prefix', 'custom.', { ok: true }, 'type'],
    ['a type with spaces', 'custom.order paid', { ok: true }, 'type'],
    ['a type of 129 characters', `custom.${'x'.repeat(122)}`, { ok: true }, 'type'],
    ['a payload that is an array', 'custom.thing', [1, 2], 'payload'],
    ['a payload that is a string', 'custom.thing', 'text', 'payload'],
    ['a payload over 64 KB', 'custom.thing', { blob: 'x'.repeat(70_000) }, 'payload'],
    ['a payload nested 40 deep', 'custom.thing', nested(40), 'payload'],
  ])('refuses %s as InvalidInput naming the field, and writes no event', async (_case, type, payload, field) => {
    const org = await seedOrganization(app);
    const r = await gql(app, PUBLISH, { input: { type, payload } }, org.token);
    expect(r.data?.publishEvent).toMatchObject({ __typename: 'InvalidInput', code: 'INVALID_INPUT', field });
    expect(await app.services.db.select().from(webhookEvents).where(eq(webhookEvents.orgId, org.orgId))).toEqual([]);
  });

  it('accepts a type of exactly 128 characters', async () => {
    const org = await seedOrganization(app);
    const r = await gql(app, PUBLISH, { input: { type: `custom.${'x'.repeat(121)}`, payload: {} } }, org.token);
    expect(r.data?.publishEvent.__typename).toBe('EventPublished');
  });

  it('needs webhooks:write: a viewer is refused and nothing is written', async () => {
    const org = await seedOrganization(app, 'viewer');
    const r = await gql(app, PUBLISH, { input: { type: 'custom.thing', payload: {} } }, org.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'INSUFFICIENT_SCOPE' });
    expect(await app.services.db.select().from(webhookEvents).where(eq(webhookEvents.orgId, org.orgId))).toEqual([]);
  });
});

describe('recoverWebhookDeliveries', () => {
  it("answers NOT_FOUND for another organization's endpoint, an unknown one and a malformed id", async () => {
    const org = await seedOrganization(app);
    const other = await seedOrganization(app);
    const theirs = await createEndpoint(app, other.token, { url: 'https://hooks.example.com/theirs' });
    const since = new Date(Date.now() - 60_000).toISOString();
    for (const endpointId of [theirs.id, 'whe_0000000000000000000000', 'not-an-id']) {
      const r = await gql(app, RECOVER, { endpointId, since }, org.token);
      expect(r.data?.recoverWebhookDeliveries).toMatchObject({ __typename: 'WebhookEndpointNotFound', code: 'NOT_FOUND' });
    }
  });

  it('refuses a since in the future', async () => {
    const org = await seedOrganization(app);
    const endpoint = await createEndpoint(app, org.token, { url: 'https://hooks.example.com/mine' });
    const r = await gql(app, RECOVER, { endpointId: endpoint.id, since: new Date(Date.now() + 3_600_000).toISOString() }, org.token);
    expect(r.data?.recoverWebhookDeliveries).toMatchObject({ __typename: 'InvalidInput', field: 'since' });
  });
});

describe('event type patterns', () => {
  it('accept custom.*, a custom type, a deeper custom pattern and endpoint.disabled', async () => {
    const org = await seedOrganization(app);
    const eventTypes = ['custom.*', 'custom.order.paid', 'custom.order.*', 'endpoint.disabled', 'endpoint.*'];
    const r = await gql(app, CREATE_ENDPOINT, { input: { url: 'https://hooks.example.com/a', eventTypes } }, org.token);
    expect(r.data?.createWebhookEndpoint.endpoint.eventTypes).toEqual(eventTypes);
  });

  it.each(['custom', 'custom.', 'custom..x', 'custom.*.x', 'endpoint.enabled'])('refuse %s', async (pattern) => {
    const org = await seedOrganization(app);
    const r = await gql(app, CREATE_ENDPOINT, { input: { url: 'https://hooks.example.com/a', eventTypes: [pattern] } }, org.token);
    expect(r.data?.createWebhookEndpoint).toMatchObject({ __typename: 'InvalidInput', field: 'eventTypes' });
  });
});
