/**
 * GraphiQL in a real browser (Debian's Chromium, driven by playwright-core) under the CSP the
 * server sends: it loads with no violation and runs a query, and a subscription, with the key its
 * visitor enters in the Headers tab (the page itself carries none).
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ADMIN_TOKEN, acquire, createLicense, startApp } from '../support/harness.ts';
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

/** Opens GraphiQL, enters the operator's key in the Headers tab and runs `operation`. */
async function runInGraphiQL(page: import('playwright-core').Page, operation: string) {
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
  await page.keyboard.insertText(operation);
  await page.getByRole('button', { name: /^Execute query/ }).click();
}

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

  await runInGraphiQL(page, '{ viewer { kind } }');
  await expect.poll(() => page.locator('[data-uri$="-response.json"]').innerText(), { timeout: 20_000 }).toContain('operator');

  expect(violations).toEqual([]);
  expect(graphqlRequests.some((r) => r.authorization === `Bearer ${ADMIN_TOKEN}`)).toBe(true);
  await page.close();
}, 60_000);

it('runs a subscription with the key of the Headers tab, and shows its events', async () => {
  const license = await createLicense(app, { maxSeats: 3 });
  const page = await browser.newPage();
  await runInGraphiQL(page, `subscription { seatCountChanged(licenseId: "${license.id}") { used max } }`);
  const response = () => page.locator('[data-uri$="-response.json"]').innerText();
  // The current count comes first: the subscription was let in with the credential.
  await expect.poll(response, { timeout: 20_000 }).toMatch(/"max":\s*3/);
  expect(await response()).not.toContain('UNAUTHENTICATED');
  await acquire(app, license.key, 'graphiql-machine');
  await expect.poll(response, { timeout: 20_000 }).toMatch(/"used":\s*1/);
  await page.close();
}, 60_000);
