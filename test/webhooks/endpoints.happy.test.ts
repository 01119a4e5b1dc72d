/** Webhook endpoints: made, changed and removed by their organization only; URLs and event types checked; the secret shown once and kept encrypted. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookDeliveries, webhookEndpoints } from '../../src/db/schema.ts';
import { validateWebhookUrl } from '../../src/services/webhooks/urls.ts';
import { gql, startApp } from '../support/harness.ts';
import { CREATE_ENDPOINT, createEndpoint, createLicenseAs } from '../support/webhooks.ts';
import { addUser, seedOrganization } from '../support/organizations.ts';
import { openEndpointSecret } from '../../src/services/webhooks/secrets.ts';

let app: App;
let owner: Awaited<ReturnType<typeof seedOrganization>>;
let viewerToken: string;
beforeAll(async () => {
  app = await startApp();
  owner = await seedOrganization(app, 'owner');
  viewerToken = (await addUser(app, owner.orgId, 'viewer')).token;
});
afterAll(() => app.close());

const UPDATE = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
  __typename ... on WebhookEndpointUpdated { endpoint { id url description eventTypes enabled disabledReason } } ... on Error { code message } } }`;
const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { __typename ... on WebhookEndpointDeleted { endpoint { id } } } }`;
const ROTATE = `mutation($id: ID!, $overlap: Int) { rotateWebhookSecret(input: { id: $id, overlapSeconds: $overlap }) {
  __typename ... on WebhookSecretRotated { secret endpoint { previousSecretExpiresAt } } ... on Error { code message } } }`;

describe('webhook endpoints', () => {
  it('creates an endpoint and shows its whsec_ secret in that answer only', async () => {
    const r = await gql(
      app,
      CREATE_ENDPOINT,
      { input: { url: 'https://hooks.leasehold.invalid/leasehold', eventTypes: ['license.*', 'seat.acquired'] } },
      owner.token,
    );
    const created = r.data!.createWebhookEndpoint;
    expect(created.__typename).toBe('WebhookEndpointCreated');
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.endpoint).toMatchObject({
      url: 'https://hooks.leasehold.invalid/leasehold',
      eventTypes: ['license.*', 'seat.acquired'],
      enabled: true,
    });
    const listed = await gql(app, `{ webhookEndpoints { id url } }`, {}, owner.token);
    expect(listed.data!.webhookEndpoints).toContainEqual({ id: created.endpoint.id, url: 'https://hooks.leasehold.invalid/leasehold' });
    expect(JSON.stringify(listed)).not.toContain(created.secret);
  });

  it('keeps the secret encrypted at rest, bound to its endpoint', async () => {
    const { id, secret } = await createEndpoint(app, owner.token, { url: 'https://hooks.leasehold.invalid/a' });
    const [row] = await app.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    expect(row!.secretCiphertext).not.toContain(secret.slice('whsec_'.length, 20));
    expect(await openEndpointSecret(app.services.webhookSecrets, row!.secretCiphertext, id, { slot: 'current' })).toBe(secret);
    await expect(
      openEndpointSecret(app.services.webhookSecrets, row!.secretCiphertext, 'whe_0000000000000000000000', { slot: 'current' }),
    ).rejects.toThrow();
  });

  it('changes the URL, event types and description, and disables and enables', async () => {
    const { id } = await createEndpoint(app, owner.token, { url: 'https://hooks.leasehold.invalid/b' });
    const changed = await gql(
      app,
      UPDATE,
      { input: { id, url: 'https://hooks.leasehold.invalid/c', eventTypes: ['seat.*'], description: 'billing' } },
      owner.token,
    );
    expect(changed.data!.updateWebhookEndpoint.endpoint).toMatchObject({
      url: 'https://hooks.leasehold.invalid/c',
      eventTypes: ['seat.*'],
      description: 'billing',
      enabled: true,
    });
    const disabled = await gql(app, UPDATE, { input: { id, enabled: false } }, owner.token);
    expect(disabled.data!.updateWebhookEndpoint.endpoint).toMatchObject({ enabled: false, url: 'https://hooks.leasehold.invalid/c' });
    const enabled = await gql(app, UPDATE, { input: { id, enabled: true, description: '' } }, owner.token);
    expect(enabled.data!.updateWebhookEndpoint.endpoint).toMatchObject({ enabled: true, description: null });
  });

  it('deletes an endpoint together with its deliveries', async () => {
    const { id } = await createEndpoint(app, owner.token, { url: 'https://hooks.leasehold.invalid/d', eventTypes: ['license.created'] });
    await createLicenseAs(app, owner.token);
    expect(await app.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id))).toHaveLength(1);
    expect((await gql(app, DELETE, { id }, owner.token)).data!.deleteWebhookEndpoint).toEqual({
      __typename: 'WebhookEndpointDeleted',
      endpoint: { id },
    });
    expect(await app.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id))).toHaveLength(0);
    expect((await gql(app, DELETE, { id }, owner.token)).data!.deleteWebhookEndpoint.__typename).toBe('WebhookEndpointNotFound');
  });

  it('rotates the secret with an overlap during which the old one still signs', async () => {
    const { id, secret } = await createEndpoint(app, owner.token, { url: 'https://hooks.leasehold.invalid/e' });
    const r = await gql(app, ROTATE, { id, overlap: 3600 }, owner.token);
    const rotated = r.data!.rotateWebhookSecret;
    expect(rotated.secret).not.toBe(secret);
    expect(new Date(rotated.endpoint.previousSecretExpiresAt).getTime()).toBeGreaterThan(Date.now() + 3590_000);
    const [row] = await app.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    const previous = { slot: 'previous', expiresAt: row!.previousSecretExpiresAt! } as const;
    expect(await openEndpointSecret(app.services.webhookSecrets, row!.previousSecretCiphertext!, id, previous)).toBe(secret);
    expect((await gql(app, ROTATE, { id, overlap: 8 * 86_400 }, owner.token)).data!.rotateWebhookSecret).toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('refuses unknown event types and an empty list, and takes the wildcards', async () => {
    for (const eventTypes of [[], ['license.exploded'], ['license*'], ['billing.*']]) {
      const r = await gql(app, CREATE_ENDPOINT, { input: { url: 'https://hooks.leasehold.invalid/f', eventTypes } }, owner.token);
      expect(r.data!.createWebhookEndpoint).toMatchObject({ __typename: 'InvalidInput', field: 'eventTypes' });
    }
    const r = await gql(
      app,
      CREATE_ENDPOINT,
      { input: { url: 'https://hooks.leasehold.invalid/f', eventTypes: ['license.*', 'seat.*', 'apikey.*', '*'] } },
      owner.token,
    );
    expect(r.data!.createWebhookEndpoint.__typename).toBe('WebhookEndpointCreated');
  });

  it('answers a URL it refuses with InvalidInput on the url field', async () => {
    for (const url of [
      'ftp://hooks.leasehold.invalid/x',
      'https://user:pass@hooks.leasehold.invalid/x',
      'not a url',
      'https://hooks.leasehold.invalid/x#frag',
    ]) {
      const r = await gql(app, CREATE_ENDPOINT, { input: { url, eventTypes: ['*'] } }, owner.token);
      expect(r.data!.createWebhookEndpoint, url).toMatchObject({ __typename: 'InvalidInput', field: 'url' });
    }
  });
});

describe('webhook URL validation', () => {
  const live = { environment: 'live' as const, webhookAllowPrivate: false };
  const liveWithPrivate = { environment: 'live' as const, webhookAllowPrivate: true };
  const test = { environment: 'test' as const, webhookAllowPrivate: false };

  it('takes only http and https, without credentials', () => {
    for (const url of [
      'ftp://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'https://a:b@example.com/',
      'https://a@example.com/',
    ]) {
      expect(validateWebhookUrl(url, test).ok, url).toBe(false);
    }
    expect(validateWebhookUrl('http://example.com/hook', test)).toEqual({ ok: true, url: 'http://example.com/hook' });
  });

  it('on a live server takes https to public hosts only', () => {
    expect(validateWebhookUrl('https://hooks.leasehold.invalid/x', live).ok).toBe(true);
    expect(validateWebhookUrl('http://hooks.leasehold.invalid/x', live)).toMatchObject({
      ok: false,
      message: expect.stringContaining('https'),
    });
  });

  it('on a live server refuses loopback, private, link-local and unspecified addresses, however they are written', () => {
    for (const url of [
      'https://127.0.0.1/x',
      'https://localhost/x',
      'https://api.localhost/x',
      'https://10.1.2.3/x',
      'https://172.16.0.1/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://0.0.0.0/x',
      'https://[::1]/x',
      'https://[fd00::1]/x',
      'https://[fe80::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://2130706433/x',
      'https://0x7f.1/x',
    ]) {
      expect(validateWebhookUrl(url, live), url).toMatchObject({ ok: false, message: expect.stringContaining('private') });
    }
  });

  it('admits private addresses, over http too, when WEBHOOK_ALLOW_PRIVATE=1; and anything http(s) on a test server', () => {
    expect(validateWebhookUrl('http://127.0.0.1:8080/x', liveWithPrivate).ok).toBe(true);
    expect(validateWebhookUrl('http://10.0.0.5/x', liveWithPrivate).ok).toBe(true);
    expect(validateWebhookUrl('http://hooks.leasehold.invalid/x', liveWithPrivate).ok).toBe(false);
    expect(validateWebhookUrl('http://127.0.0.1:8080/x', test).ok).toBe(true);
  });
});

describe('webhook endpoint permissions', () => {
  it('lets a viewer read endpoints but not make them', async () => {
    const r = await gql(app, CREATE_ENDPOINT, { input: { url: 'https://hooks.leasehold.invalid/v', eventTypes: ['*'] } }, viewerToken);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(app, `{ webhookEndpoints { id } }`, {}, viewerToken)).errors).toBeUndefined();
  });

  it("treats another organization's endpoint as if it did not exist", async () => {
    const other = await seedOrganization(app);
    const { id } = await createEndpoint(app, owner.token, { url: 'https://hooks.leasehold.invalid/mine' });
    expect((await gql(app, `query($id: ID!) { webhookEndpoint(id: $id) { id } }`, { id }, other.token)).data!.webhookEndpoint).toBeNull();
    expect((await gql(app, `{ webhookEndpoints { id } }`, {}, other.token)).data!.webhookEndpoints).toEqual([]);
    expect((await gql(app, UPDATE, { input: { id, enabled: false } }, other.token)).data!.updateWebhookEndpoint.__typename).toBe(
      'WebhookEndpointNotFound',
    );
    expect((await gql(app, ROTATE, { id }, other.token)).data!.rotateWebhookSecret.__typename).toBe('WebhookEndpointNotFound');
    expect((await gql(app, DELETE, { id }, other.token)).data!.deleteWebhookEndpoint.__typename).toBe('WebhookEndpointNotFound');
    const test = await gql(app, `mutation($id: ID!) { sendTestWebhook(input: { endpointId: $id }) { __typename } }`, { id }, other.token);
    expect(test.data!.sendTestWebhook.__typename).toBe('WebhookEndpointNotFound');
    const [row] = await app.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    expect(row!.enabled).toBe(true);
  });
});
