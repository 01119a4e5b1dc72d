/**
 * GraphiQL in a real browser (Debian's Chromium, driven by playwright-core) under the CSP the
 * server sends: it loads with no violation and runs a query with the key its visitor enters in
 * the Headers tab (the page itself carries none).
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ADMIN_TOKEN, startApp } from '../support/harness.ts';
import { serve } from '../support/server.ts';

let app: App;
let server: Awaited<ReturnType<typeof serve>>;
let browser: Browser;
beforeAll(async () => {
  app = await startApp();
  server = await serve(app);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await app?.close();
});

it('loads under its CSP with no violation and answers a query sent with the Headers tab', async () => {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(String(error)));
  const graphqlRequests: { authorization?: string }[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/graphql') && request.method() === 'POST') graphqlRequests.push({ authorization: request.headers().authorization });
  });

  await page.goto(`${server.url}/graphql`);
  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  // insertText, not type: the editors close brackets and quotes as a person types them.
  await page.locator('[data-uri$="-request-headers.json"]').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(`{"Authorization": "Bearer ${ADMIN_TOKEN}"}`);
  await page.locator('[data-uri$="-operation.graphql"]').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText('{ viewer { kind } }');
  await page.getByRole('button', { name: /^Execute query/ }).click();
  await expect.poll(() => page.locator('[data-uri$="-response.json"]').innerText(), { timeout: 20_000 }).toContain('operator');

  expect(violations).toEqual([]);
  expect(graphqlRequests.some((r) => r.authorization === `Bearer ${ADMIN_TOKEN}`)).toBe(true);
  await page.close();
}, 60_000);
