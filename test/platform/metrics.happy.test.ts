/**
 * /metrics against the served app: the seat counters move with each acquire and refusal, the
 * GraphQL requests are counted by operation and result, the deployment's figures (live leases,
 * webhook queue, store health) and the process's own are there, and webhook attempts are counted
 * by outcome.
 */
import { describe, expect, it } from 'vitest';
import { inTenant } from '../../src/db/tenant.ts';
import { emitEvents } from '../../src/services/webhooks/events.ts';
import { startWebhookWorker } from '../../src/services/webhooks/worker.ts';
import { createLicense, sleep } from '../support/harness.ts';
import { samples, sampleValue } from '../support/metrics.ts';
import { seedOrganization } from '../support/organizations.ts';
import { servedApp } from '../support/server.ts';
import { createEndpoint, startReceiver, waitForStatus } from '../support/webhooks.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const served = servedApp({ METRICS_TOKEN, WEBHOOK_POLL_MS: '20' });

async function scrape(): Promise<string> {
  const response = await fetch(`${served.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

const ACQUIRE = `mutation Acquire($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename } }`;

async function acquire(licenseKey: string, fingerprint: string): Promise<string> {
  const response = await fetch(`${served.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: ACQUIRE, operationName: 'Acquire', variables: { input: { licenseKey, fingerprint } } }),
  });
  return ((await response.json()) as { data: { acquireSeat: { __typename: string } } }).data.acquireSeat.__typename;
}

describe('GET /metrics', () => {
  it('counts a granted acquire and a refused one by outcome, and the requests by operation and result', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const before = await scrape();
    expect(await acquire(license.key, 'machine-a')).toBe('SeatGranted');
    expect(await acquire(license.key, 'machine-b')).toBe('NoSeatsAvailable');
    const after = await scrape();

    const seat = (text: string, outcome: string, code: string) =>
      sampleValue(text, 'leasehold_seat_operations_total', { operation: 'acquire', outcome, code });
    expect(seat(after, 'granted', 'none') - seat(before, 'granted', 'none')).toBe(1);
    expect(seat(after, 'refused', 'NO_SEATS_AVAILABLE') - seat(before, 'refused', 'NO_SEATS_AVAILABLE')).toBe(1);
    // A refusal is a typed answer, not a GraphQL error: both requests were answered ok.
    const requests = (text: string) => sampleValue(text, 'leasehold_graphql_requests_total', { operation: 'Acquire', result: 'ok' });
    expect(requests(after) - requests(before)).toBe(2);
    const timed = (text: string) =>
      sampleValue(text, 'leasehold_graphql_request_duration_seconds_count', { operation: 'Acquire', result: 'ok' });
    expect(timed(after) - timed(before)).toBe(2);
  });

  it('counts a request refused by an error under its code', async () => {
    const before = await scrape();
    await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk_live_not-a-key' },
      body: JSON.stringify({ query: 'query Viewer { viewer { kind } }' }),
    });
    const after = await scrape();
    const refused = (text: string) =>
      sampleValue(text, 'leasehold_graphql_requests_total', { operation: 'Viewer', result: 'UNAUTHENTICATED' });
    expect(refused(after) - refused(before)).toBe(1);
  });

  it('reports live leases, store health and the process', async () => {
    const license = await createLicense(served.app, { maxSeats: 2 });
    await acquire(license.key, 'machine-a');
    await acquire(license.key, 'machine-b');
    const text = await scrape();
    expect(sampleValue(text, 'leasehold_live_leases')).toBeGreaterThanOrEqual(2);
    expect(samples(text, 'leasehold_sweeper_lag_seconds')).toHaveLength(1);
    expect(sampleValue(text, 'leasehold_store_up', { store: 'postgres' })).toBe(1);
    expect(sampleValue(text, 'leasehold_store_up', { store: 'seats' })).toBe(1);
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples(text, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
  });

  it('reports the webhook queue while a delivery waits, and counts its attempt once it is delivered', async () => {
    const receiver = await startReceiver();
    try {
      const org = await seedOrganization(served.app);
      const endpoint = await createEndpoint(served.app, org.token, { url: receiver.url, eventTypes: ['custom.metrics'] });
      await inTenant(served.app.services.db, org.orgId, (tx) => emitEvents(tx, org.orgId, [{ type: 'custom.metrics' as const, data: {} }]));
      await sleep(50);
      const waiting = await scrape();
      expect(sampleValue(waiting, 'leasehold_webhook_queue_depth')).toBeGreaterThanOrEqual(1);
      expect(sampleValue(waiting, 'leasehold_webhook_oldest_due_seconds')).toBeGreaterThan(0);
      const delivered = (text: string) => sampleValue(text, 'leasehold_webhook_attempts_total', { outcome: 'DELIVERED' });

      const worker = startWebhookWorker(served.app.services, { organizationId: org.orgId });
      await waitForStatus(served.app, endpoint.id, ['DELIVERED']);
      await worker.stop();
      expect(delivered(await scrape()) - delivered(waiting)).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});
