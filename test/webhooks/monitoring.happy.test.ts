/** Operators watch delivery: counts by status, attempts and latency over a range, and the deliveries themselves, newest first, filtered and paged. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { gql, startApp } from '../support/harness.ts';
import { createEndpoint, createLicenseAs, startReceiver, waitForStatus, type Receiver } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let ok: Receiver;
let failing: Receiver;
let org: Awaited<ReturnType<typeof seedOrganization>>;
let endpoints: { ok: string; failing: string; paused: string };
let startedAt: Date;
beforeAll(async () => {
  app = await startApp({ WEBHOOK_POLL_MS: '20', WEBHOOK_BACKOFF_SECONDS: '0.1', WEBHOOK_MAX_ATTEMPTS: '2' });
  [ok, failing] = await Promise.all([startReceiver(() => ({ status: 200 })), startReceiver(() => ({ status: 500 }))]);
  org = await seedOrganization(app);
  startedAt = new Date(Date.now() - 1000);
  endpoints = {
    ok: (await createEndpoint(app, org.token, { url: ok.url, eventTypes: ['license.*'] })).id,
    failing: (await createEndpoint(app, org.token, { url: failing.url, eventTypes: ['license.created'] })).id,
    paused: (await createEndpoint(app, org.token, { url: ok.url, eventTypes: ['license.created'] })).id,
  };
  // Two licenses: license.created to all three endpoints, license.updated to the first.
  const license = await createLicenseAs(app, org.token);
  await createLicenseAs(app, org.token);
  await gql(app, `mutation($id: ID!) { updateLicense(input: { id: $id, maxSeats: 5 }) { __typename } }`, { id: license.id }, org.token);
  // The third endpoint is disabled before any worker runs: its deliveries stay PENDING.
  await gql(
    app,
    `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: false }) { __typename } }`,
    { id: endpoints.paused },
    org.token,
  );
  const worker = startWebhookWorker(app.services, { organizationId: org.orgId });
  try {
    await waitForStatus(app, endpoints.failing, ['DEAD']);
    while ((await listAll()).filter((d) => d.status === 'DELIVERED' || d.status === 'DEAD').length < 5) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await worker.stop();
  }
});
afterAll(async () => {
  await Promise.all([ok.close(), failing.close()]);
  await app.close();
});

const LIST = `query($filter: WebhookDeliveryFilter, $first: Int, $after: String) {
  webhookDeliveries(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id endpointId eventType status attemptCount createdAt } }
    pageInfo { hasNextPage endCursor } } }`;

type Node = { id: string; endpointId: string; eventType: string; status: string; attemptCount: number; createdAt: string };

async function listAll(filter: Record<string, unknown> = {}, first = 100): Promise<Node[]> {
  const nodes: Node[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { data?: Record<string, any> } = await gql(app, LIST, { filter, first, after }, org.token);
    const page: { edges: { node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } = r.data!.webhookDeliveries;
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}

describe('webhook monitoring', () => {
  it('counts deliveries by status with their average attempts and p95 latency', async () => {
    const r = await gql(
      app,
      `query($from: DateTime!, $to: DateTime!) { webhookMetrics(from: $from, to: $to) {
        total pending failed retrying delivered dead replayExpired disabled failedAttempts averageAttempts p95DeliveryLatencyMs } }`,
      { from: startedAt.toISOString(), to: new Date(Date.now() + 1000).toISOString() },
      org.token,
    );
    expect(r.errors).toBeUndefined();
    const m = r.data!.webhookMetrics;
    // license.created ×2 to each of three endpoints, license.updated ×1 to the first.
    expect(m).toMatchObject({
      total: 7,
      delivered: 3,
      dead: 2,
      pending: 2,
      failed: 0,
      retrying: 0,
      replayExpired: 0,
      disabled: 0,
      failedAttempts: 4,
    });
    expect(m.averageAttempts).toBeCloseTo((3 * 1 + 2 * 2) / 5, 5);
    expect(m.p95DeliveryLatencyMs).toBeGreaterThan(0);
    expect(m.p95DeliveryLatencyMs).toBeLessThan(10_000);
  });

  it('counts nothing outside the range, and refuses a range that ends before it starts', async () => {
    const past = await gql(
      app,
      `{ webhookMetrics(from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z") { total delivered averageAttempts p95DeliveryLatencyMs } }`,
      {},
      org.token,
    );
    expect(past.data!.webhookMetrics).toEqual({ total: 0, delivered: 0, averageAttempts: null, p95DeliveryLatencyMs: null });
    const backwards = await gql(
      app,
      `{ webhookMetrics(from: "2020-01-02T00:00:00Z", to: "2020-01-01T00:00:00Z") { total } }`,
      {},
      org.token,
    );
    expect(backwards.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('lists deliveries newest first, one page after another with none repeated or skipped', async () => {
    const all = await listAll();
    expect(all).toHaveLength(7);
    const times = all.map((d) => Date.parse(d.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const paged = await listAll({}, 2);
    expect(paged.map((d) => d.id)).toEqual(all.map((d) => d.id));
  });

  it('filters deliveries by status, event type (exact or pattern) and endpoint', async () => {
    expect((await listAll({ status: 'DEAD' })).map((d) => d.endpointId)).toEqual([endpoints.failing, endpoints.failing]);
    expect((await listAll({ status: 'PENDING' })).every((d) => d.endpointId === endpoints.paused)).toBe(true);
    expect(await listAll({ eventType: 'license.updated' })).toMatchObject([
      { endpointId: endpoints.ok, status: 'DELIVERED', attemptCount: 1 },
    ]);
    expect(await listAll({ eventType: 'license.*' })).toHaveLength(7);
    expect(await listAll({ eventType: 'seat.*' })).toHaveLength(0);
    expect((await listAll({ endpointId: endpoints.ok })).map((d) => d.eventType).sort()).toEqual([
      'license.created',
      'license.created',
      'license.updated',
    ]);
    expect(await listAll({ endpointId: endpoints.ok, status: 'DEAD' })).toEqual([]);
  });

  it('shows each delivery with its event and its attempts', async () => {
    const [dead] = await listAll({ status: 'DEAD' });
    const r = await gql(
      app,
      `query($id: ID!) { webhookDelivery(id: $id) { status event { type data } endpoint { id } attempts { attempt statusCode error } } }`,
      { id: dead!.id },
      org.token,
    );
    expect(r.data!.webhookDelivery).toMatchObject({
      status: 'DEAD',
      event: { type: 'license.created', data: { license: { tier: 'pro' } } },
      endpoint: { id: endpoints.failing },
      attempts: [
        { attempt: 1, statusCode: 500, error: 'HTTP 500' },
        { attempt: 2, statusCode: 500, error: 'HTTP 500' },
      ],
    });
  });

  it("shows nothing of another organization's deliveries", async () => {
    const stranger = await seedOrganization(app);
    const r = await gql(
      app,
      `query($id: ID!, $from: DateTime!, $to: DateTime!) { webhookDeliveries { edges { node { id } } } webhookDelivery(id: $id) { id }
        webhookMetrics(from: $from, to: $to) { total } }`,
      { id: (await listAll())[0]!.id, from: startedAt.toISOString(), to: new Date(Date.now() + 1000).toISOString() },
      stranger.token,
    );
    expect(r.data).toEqual({ webhookDeliveries: { edges: [] }, webhookDelivery: null, webhookMetrics: { total: 0 } });
  });
});
