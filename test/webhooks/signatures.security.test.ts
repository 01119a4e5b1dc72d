/**
 * A receiver can trust what it gets: X-Webhook-Signature verifies with its own HMAC code, the
 * Standard Webhooks headers with the standardwebhooks package, both with the one whsec_ secret,
 * and neither survives a changed byte. Signatures are made at send time.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookEndpoints } from '../../src/db/schema.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/services/webhooks/worker.ts';
import { gql, sleep, startApp } from '../support/harness.ts';
import {
  createEndpoint,
  createLicenseAs,
  startReceiver,
  verifiesStandardWebhook,
  verifiesXWebhookSignature,
  type Receiver,
} from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let worker: WebhookWorker;
let receiver: Receiver;
let org: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  app = await startApp({ WEBHOOK_POLL_MS: '20', WEBHOOK_BACKOFF_SECONDS: '1.1' });
  receiver = await startReceiver();
  org = await seedOrganization(app);
  worker = startWebhookWorker(app.services, { organizationId: org.orgId });
});
afterAll(async () => {
  await worker.stop();
  await receiver.close();
  await app.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.respondWith(() => ({ status: 200 }));
});
afterEach(async () => {
  await app.services.db.delete(webhookEndpoints).where(eq(webhookEndpoints.orgId, org.orgId));
});

/** Each test gets an endpoint of its own, listening to license.created only. */
const endpoint = () => createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['license.created'] });

const withBody = <T extends { body: string }>(request: T, body: string): T => ({ ...request, body });

describe('webhook signatures', () => {
  it('sign each attempt so that both X-Webhook-Signature and the Standard Webhooks headers verify with the secret', async () => {
    const { secret } = await endpoint();
    const license = await createLicenseAs(app, org.token);
    const [request] = await receiver.until(1);
    expect(verifiesXWebhookSignature(secret, request!)).toBe(true);
    expect(verifiesStandardWebhook(secret, request!)).toBe(true);

    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({ type: 'license.created', data: { license: { id: license.id } } });
    expect(request!.headers['x-webhook-event-id']).toBe(body.id);
    expect(request!.headers['webhook-id']).toBe(body.id);
    expect(request!.headers['x-webhook-timestamp']).toBe(request!.headers['webhook-timestamp']);
    expect(Math.abs(Number(request!.headers['x-webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(request!.headers['x-webhook-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(request!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(request!.headers['content-type']).toBe('application/json');
  });

  it('fail both checks when the body is changed by one byte', async () => {
    const { secret } = await endpoint();
    await createLicenseAs(app, org.token);
    const [request] = await receiver.until(1);
    const flipped = request!.body.replace(/"type":"license\.created"/, '"type":"license.createe"');
    expect(flipped).not.toBe(request!.body);
    expect(Buffer.byteLength(flipped)).toBe(Buffer.byteLength(request!.body));
    expect(verifiesXWebhookSignature(secret, withBody(request!, flipped))).toBe(false);
    expect(verifiesStandardWebhook(secret, withBody(request!, flipped))).toBe(false);
    expect(verifiesXWebhookSignature(secret, withBody(request!, request!.body + ' '))).toBe(false);
    expect(verifiesStandardWebhook(secret, withBody(request!, request!.body + ' '))).toBe(false);
  });

  it('fail both checks with a changed timestamp or another endpoint’s secret', async () => {
    const { secret } = await endpoint();
    const other = await createEndpoint(app, org.token, { url: 'https://hooks.example.com/elsewhere', eventTypes: ['seat.*'] });
    await createLicenseAs(app, org.token);
    const [request] = await receiver.until(1);
    const stamp = String(Number(request!.headers['x-webhook-timestamp']) + 1);
    const restamped = { ...request!, headers: { ...request!.headers, 'x-webhook-timestamp': stamp, 'webhook-timestamp': stamp } };
    expect(verifiesXWebhookSignature(secret, restamped)).toBe(false);
    expect(verifiesStandardWebhook(secret, restamped)).toBe(false);
    expect(verifiesXWebhookSignature(other.secret, request!)).toBe(false);
    expect(verifiesStandardWebhook(other.secret, request!)).toBe(false);
  });

  it('carry one signature per live secret during a rotation, and only the new one after an overlap of 0', async () => {
    const { id, secret: oldSecret } = await endpoint();
    const rotate = (overlap: number) =>
      gql(
        app,
        `mutation($id: ID!, $o: Int) { rotateWebhookSecret(input: { id: $id, overlapSeconds: $o }) { ... on WebhookSecretRotated { secret } } }`,
        { id, o: overlap },
        org.token,
      );
    const newSecret = (await rotate(3600)).data!.rotateWebhookSecret.secret as string;
    await createLicenseAs(app, org.token);
    const [during] = await receiver.until(1);
    expect(String(during!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(String(during!.headers['x-webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [oldSecret, newSecret]) {
      expect(verifiesXWebhookSignature(secret, during!)).toBe(true);
      expect(verifiesStandardWebhook(secret, during!)).toBe(true);
    }

    const newest = (await rotate(0)).data!.rotateWebhookSecret.secret as string;
    await createLicenseAs(app, org.token);
    const [, after] = await receiver.until(2);
    expect(verifiesXWebhookSignature(newest, after!)).toBe(true);
    expect(verifiesStandardWebhook(newest, after!)).toBe(true);
    for (const secret of [oldSecret, newSecret]) {
      expect(verifiesXWebhookSignature(secret, after!)).toBe(false);
      expect(verifiesStandardWebhook(secret, after!)).toBe(false);
    }
  });

  it('stop carrying the replaced secret at the end of its overlap, though the worker signed with it a moment before', async () => {
    const { id, secret: oldSecret } = await endpoint();
    const rotated = await gql(
      app,
      `mutation($id: ID!) { rotateWebhookSecret(input: { id: $id, overlapSeconds: 1 }) { ... on WebhookSecretRotated { secret } } }`,
      { id },
      org.token,
    );
    const newSecret = rotated.data!.rotateWebhookSecret.secret as string;
    await createLicenseAs(app, org.token);
    const [during] = await receiver.until(1);
    expect(verifiesStandardWebhook(oldSecret, during!)).toBe(true);

    await sleep(1100);
    await createLicenseAs(app, org.token);
    const [, after] = await receiver.until(2);
    expect(String(after!.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifiesStandardWebhook(newSecret, after!)).toBe(true);
    expect(verifiesStandardWebhook(oldSecret, after!)).toBe(false);
    expect(verifiesXWebhookSignature(oldSecret, after!)).toBe(false);
  });

  it('are made at send time: a retry carries the same event and body with a fresh timestamp and signature', async () => {
    const { secret } = await endpoint();
    receiver.respondWith((_request, n) => ({ status: n === 0 ? 500 : 200 }));
    await createLicenseAs(app, org.token);
    const [first, second] = await receiver.until(2);
    expect(second!.body).toBe(first!.body);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThan(Number(first!.headers['webhook-timestamp']));
    expect(second!.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature']);
    for (const request of [first!, second!]) {
      expect(verifiesXWebhookSignature(secret, request)).toBe(true);
      expect(verifiesStandardWebhook(secret, request)).toBe(true);
    }
  });
});
