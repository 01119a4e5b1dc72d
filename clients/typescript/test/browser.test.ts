/**
 * The SDK's core in a real browser (Debian's Chromium, driven by playwright-core): a page loads
 * the built package as ES modules (jose's web build through an import map), takes a seat, sees
 * a heartbeat renew it, checks a signed verdict and releases. The page's origin forwards the
 * GraphQL and JWKS paths to the server, as a web app's own backend would.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useLeasehold } from './support/server.ts';

const server = useLeasehold();
const DIST = new URL('../dist/', import.meta.url);
const JOSE = new URL('../../../node_modules/jose/dist/webapi/', import.meta.url);

const PAGE = `<!doctype html>
<script type="importmap">{ "imports": { "jose": "/jose/index.js" } }</script>
<script type="module">
  import { Leasehold } from '/sdk/index.js';
  try {
    const lh = new Leasehold({ url: location.origin, licenseKey: new URLSearchParams(location.search).get('key') });
    const seat = await lh.acquire({ fingerprint: 'browser-tab' });
    const renewed = await new Promise((resolve) => seat.on('renewed', resolve));
    const verdict = await lh.validate({ fingerprint: 'browser-tab' });
    await seat.release();
    window.result = { tier: seat.lease.claims.tier, fp: seat.lease.claims.fp, renewedSession: renewed.session.id === seat.session.id, verdict: verdict.code, state: seat.state, node: typeof process };
  } catch (error) {
    window.result = { error: String(error), code: error.code };
  }
</script>`;

let site: Server;
let siteUrl: string;
let browser: Browser;

beforeAll(async () => {
  site = createServer(async (request, response) => {
    const path = new URL(request.url!, 'http://site').pathname;
    const file = path.startsWith('/sdk/') ? new URL(path.slice(5), DIST) : path.startsWith('/jose/') ? new URL(path.slice(6), JOSE) : undefined;
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else if (file) {
      const body = await readFile(file).catch(() => undefined);
      if (!body) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': extname(file.pathname) === '.js' ? 'text/javascript' : 'application/octet-stream' }).end(body);
    } else if (path === '/graphql' || path === '/.well-known/jwks.json') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${server.url}${path}`, {
        method: request.method,
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json', accept: request.headers.accept ?? '*/*' },
        ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      });
      response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
});

it('takes a seat in a browser page, keeps it with a heartbeat, checks a verdict and releases it', async () => {
  const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2, tier: 'web' });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`${siteUrl}/?key=${encodeURIComponent(license.key)}`);
  await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
  const result = await page.evaluate(() => (window as { result?: unknown }).result);
  expect(errors).toEqual([]);
  expect(result).toEqual({ tier: 'web', fp: 'browser-tab', renewedSession: true, verdict: 'VALID', state: 'released', node: 'undefined' });
  expect(await server.seatsUsed(license.id)).toBe(0);
  await page.close();
}, 60_000);
