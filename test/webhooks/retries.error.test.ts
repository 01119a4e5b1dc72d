/**
 * What the worker does with each answer: 2xx delivers, anything else is retried after the
 * backoff (shrunk here by config, the worker's clock untouched) until the last attempt leaves
 * the delivery DEAD, Retry-After is honoured, 410 disables the endpoint, a receiver that does
 * not answer in time counts as a failure, and every attempt is recorded.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookEndpoints } from '../../src/db/schema.ts';
import { redeliverWebhook } from '../../src/services/webhooks/deliveries.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/services/webhooks/worker.ts';
import { gql, sleep, startApp } from '../support/harness.ts';
import { attemptsOf, createEndpoint, createLicenseAs, startReceiver, waitForStatus, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

const BACKOFF = [0.4, 0.8];
const TIMEOUT_MS = 500;

let app: App;
let worker: WebhookWorker;
let receiver: Receiver;
let org: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  app = await startApp({
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_BACKOFF_SECONDS: BACKOFF.join(','),
    WEBHOOK_MAX_ATTEMPTS: '3',
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  });
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
});
afterEach(async () => {
  await app.services.db.delete(webhookEndpoints).where(eq(webhookEndpoints.orgId, org.orgId));
});

const endpoint = () => createEndpoint(app, org.token, { url: receiver.url, eventTypes: ['license.created'] });

const REDELIVER = `mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) {
  __typename ... on WebhookDeliveryQueued { delivery { id status attemptCount } } ... on Error { code message } } }`;

describe('webhook retries', () => {
  it('makes exactly 3 attempts for 500, 500, 200, spaced by the backoff, and records each', async () => {
    receiver.respondWith((_request, n) => (n < 2 ? { status: 500, body: 'not yet' } : { status: 200, body: 'thanks' }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    const delivered = await waitForStatus(app, id, ['DELIVERED', 'DEAD']);
    expect(delivered).toMatchObject({ status: 'DELIVERED', attempts: 3, nextAttemptAt: null });
    await sleep(BACKOFF[1]! * 1000 + 300);
    expect(receiver.requests).toHaveLength(3);

    const [first, second, third] = receiver.requests.map((r) => r.at);
    // Never early; late by at most the jitter (10 %) plus polling and scheduling slack.
    expect(second! - first!).toBeGreaterThanOrEqual(BACKOFF[0]! * 1000 - 5);
    expect(second! - first!).toBeLessThan(BACKOFF[0]! * 1100 + 300);
    expect(third! - second!).toBeGreaterThanOrEqual(BACKOFF[1]! * 1000 - 5);
    expect(third! - second!).toBeLessThan(BACKOFF[1]! * 1100 + 300);

    const attempts = await attemptsOf(app, delivered.id);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.responseBody, a.error])).toEqual([
      [1, 500, 'not yet', 'HTTP 500'],
      [2, 500, 'not yet', 'HTTP 500'],
      [3, 200, 'thanks', null],
    ]);
    expect(attempts.every((a) => a.durationMs >= 0)).toBe(true);
  });

  it('leaves a delivery that never succeeds DEAD after the configured attempts, and a redelivery by hand then succeeds', async () => {
    receiver.respondWith(() => ({ status: 503 }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    const dead = await waitForStatus(app, id, ['DEAD', 'DELIVERED']);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 3, nextAttemptAt: null });
    await sleep(1000);
    expect(receiver.requests).toHaveLength(3);

    receiver.respondWith(() => ({ status: 204 }));
    const r = await gql(app, REDELIVER, { id: dead.id }, org.token);
    expect(r.data!.redeliverWebhook).toMatchObject({
      __typename: 'WebhookDeliveryQueued',
      delivery: { id: dead.id, status: 'PENDING', attemptCount: 0 },
    });
    const delivered = await waitForStatus(app, id, ['DELIVERED']);
    expect(delivered).toMatchObject({ attempts: 1, redeliveredAt: expect.any(Date) });
    expect(receiver.requests).toHaveLength(4);
    expect(new Set(receiver.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
    expect((await attemptsOf(app, dead.id)).map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
      [4, 204],
    ]);
  });

  it('redelivers a DELIVERED delivery too, but refuses one still on its way and an unknown id', async () => {
    receiver.respondWith((_request, n) => (n === 0 ? { status: 200 } : { status: 500 }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    const delivered = await waitForStatus(app, id, ['DELIVERED']);
    expect((await gql(app, REDELIVER, { id: delivered.id }, org.token)).data!.redeliverWebhook.__typename).toBe('WebhookDeliveryQueued');
    await waitForStatus(app, id, ['FAILED', 'RETRYING']);
    expect((await gql(app, REDELIVER, { id: delivered.id }, org.token)).data!.redeliverWebhook).toMatchObject({
      __typename: 'InvalidInput',
      code: 'INVALID_INPUT',
    });
    expect((await gql(app, REDELIVER, { id: 'whd_0000000000000000000000' }, org.token)).data!.redeliverWebhook.__typename).toBe(
      'WebhookDeliveryNotFound',
    );
  });

  it('waits as long as Retry-After asks when that is longer than the backoff', async () => {
    receiver.respondWith((_request, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    await waitForStatus(app, id, ['DELIVERED'], { timeoutMs: 10_000 });
    const [first, second] = receiver.requests.map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(2000 - 5);
  });

  it('counts a receiver that does not answer within WEBHOOK_TIMEOUT_MS as a failed attempt', async () => {
    receiver.respondWith((_request, n) => (n === 0 ? { status: 200, delayMs: TIMEOUT_MS * 3 } : { status: 200 }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    const delivered = await waitForStatus(app, id, ['DELIVERED']);
    const [timedOut, ok] = await attemptsOf(app, delivered.id);
    expect(timedOut).toMatchObject({ statusCode: null, error: `timed out after ${TIMEOUT_MS} ms` });
    expect(timedOut!.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(timedOut!.durationMs).toBeLessThan(TIMEOUT_MS + 400);
    expect(ok).toMatchObject({ statusCode: 200, error: null });
  });

  it('records a refused connection as a failed attempt with its error', async () => {
    const closed = await startReceiver();
    const url = closed.url;
    await closed.close();
    const { id } = await createEndpoint(app, org.token, { url, eventTypes: ['license.created'] });
    await createLicenseAs(app, org.token);
    const failed = await waitForStatus(app, id, ['FAILED', 'RETRYING', 'DEAD']);
    const [attempt] = await attemptsOf(app, failed.id);
    expect(attempt).toMatchObject({
      statusCode: null,
      responseBody: null,
      error: expect.stringMatching(/ECONNREFUSED|refused|fetch failed/i),
    });
  });

  it('keeps the first 2 KB of an answer', async () => {
    receiver.respondWith(() => ({ status: 200, body: 'x'.repeat(10_000) }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    const delivered = await waitForStatus(app, id, ['DELIVERED']);
    const [attempt] = await attemptsOf(app, delivered.id);
    expect(attempt!.responseBody).toBe('x'.repeat(2048));
  });

  it('marks a delivery answered 410 DISABLED and disables its endpoint, whose other deliveries wait until it is enabled again', async () => {
    receiver.respondWith(() => ({ status: 410, body: 'gone' }));
    const { id } = await endpoint();
    await createLicenseAs(app, org.token);
    const gone = await waitForStatus(app, id, ['DISABLED', 'FAILED', 'DEAD']);
    expect(gone).toMatchObject({ status: 'DISABLED', attempts: 1, nextAttemptAt: null });
    const [row] = await app.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    expect(row).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });

    // Queued again while the endpoint is disabled, it waits for the endpoint to be enabled.
    receiver.respondWith(() => ({ status: 200 }));
    const actor = { type: 'user' as const, id: org.userId, orgId: org.orgId, requestId: null };
    expect((await redeliverWebhook(app.services, actor, gone.id)).ok).toBe(true);
    await sleep(300);
    expect(receiver.requests).toHaveLength(1);
    await gql(app, `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: true }) { __typename } }`, { id }, org.token);
    expect(await waitForStatus(app, id, ['DELIVERED'])).toMatchObject({ id: gone.id });
    expect(receiver.requests).toHaveLength(2);
  });
});
