/**
 * /metrics is not for strangers: it asks for the bearer METRICS_TOKEN, is closed when neither
 * METRICS_TOKEN nor METRICS_PORT is set, and moves to METRICS_PORT when that is set. Its labels
 * stay bounded whatever operation names callers invent.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { metricsHandler } from '../../src/http/metricsEndpoint.ts';
import { serveMetrics } from '../../src/runtime/nodeServer.ts';
import { OTHER_OPERATIONS_MAX } from '../../src/services/metrics.ts';
import { startApp } from '../support/harness.ts';
import { sampleValue, samples } from '../support/metrics.ts';
import { serve } from '../support/server.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

async function served(env: Record<string, string>, run: (url: string, app: App) => Promise<void>) {
  const app = await startApp(env);
  const server = await serve(app);
  try {
    await run(server.url, app);
  } finally {
    await server.close();
    await app.close();
  }
}

describe('METRICS_TOKEN', () => {
  let app: App;
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    app = await startApp({ METRICS_TOKEN });
    server = await serve(app);
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  it('refuses a scrape without the token, with a wrong one, or with the token in the query string', async () => {
    for (const init of [
      {},
      { headers: { authorization: 'Bearer metrics-token-0123456789abcdeX' } },
      { headers: { authorization: `Basic ${btoa(`metrics:${METRICS_TOKEN}`)}` } },
      { headers: { authorization: `Bearer ${METRICS_TOKEN}${METRICS_TOKEN}` } },
    ]) {
      const response = await fetch(`${server.url}/metrics`, init);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await response.text()).not.toContain('leasehold_');
    }
    const inQuery = await fetch(`${server.url}/metrics?token=${METRICS_TOKEN}`);
    expect(inQuery.status).toBe(401);
  });

  it('answers the bearer token', async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('leasehold_store_up');
  });

  it('keeps the operation label bounded under 1,000 invented operation names', async () => {
    const names = Array.from({ length: 1_000 }, () => `Op${crypto.randomUUID().replace(/-/g, '')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name) =>
          fetch(`${server.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `query ${name} { __typename }`, operationName: name }),
          }),
        ),
      );
    }
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const labels = new Set(samples(text, 'leasehold_graphql_requests_total').map((s) => s.labels.operation));
    const invented = names.filter((name) => labels.has(name));
    expect(invented.length).toBeLessThanOrEqual(OTHER_OPERATIONS_MAX);
    expect(sampleValue(text, 'leasehold_graphql_requests_total', { operation: 'other', result: 'ok' })).toBeGreaterThanOrEqual(
      names.length - OTHER_OPERATIONS_MAX,
    );
    // The histogram is bounded by the same labels.
    const timed = new Set(samples(text, 'leasehold_graphql_request_duration_seconds_count').map((s) => s.labels.operation));
    expect(timed.size).toBeLessThanOrEqual(labels.size);
  });
});

describe('without METRICS_TOKEN', () => {
  it('keeps /metrics closed when METRICS_PORT is not set either', async () => {
    await served({}, async (url) => {
      const response = await fetch(`${url}/metrics`);
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Metrics are off: set METRICS_TOKEN or METRICS_PORT\n');
    });
  });

  it('serves /metrics only on METRICS_PORT when that is set', async () => {
    await served({ METRICS_PORT: '9' }, async (url, app) => {
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      // As src/runtime/node.ts serves it (the port itself is the runtime's to bind; here the OS picks one).
      const metrics: Server = await serveMetrics(metricsHandler(app.metrics, app.services.config), 0, '127.0.0.1');
      try {
        const base = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`;
        const response = await fetch(`${base}/metrics`);
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('leasehold_store_up{store="postgres"} 1');
        expect((await fetch(`${base}/graphql`)).status).toBe(404);
        expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
      } finally {
        metrics.close();
      }
    });
  });
});
