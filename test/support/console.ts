/**
 * The web console in a real browser: the app served over HTTP and WebSocket as `npm start` does
 * (the console from dashboard/dist, built by `npm test`), Debian's Chromium driven by
 * playwright-core. Every page records each request it makes and each error it logs, so a test
 * can assert that nothing left the origin and nothing failed; `look` saves a screenshot under
 * test-results/console/ (ignored by git) and runs axe-core on the page.
 */
import { mkdir } from 'node:fs/promises';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { App } from '../../src/app.ts';
import { startApp } from './harness.ts';
import { serve } from './server.ts';

const SCREENSHOTS = new URL('../../test-results/console/', import.meta.url);

export interface ConsolePage {
  page: Page;
  /** Every URL the page asked for (documents, scripts, fetches, WebSockets), in order. */
  requests: string[];
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** A screenshot at test-results/console/<name>.png, and no serious or critical axe violation. */
  look(name: string): Promise<void>;
  /** Nothing left the origin (but the tab's own visits to `navigatedTo`, a provider's sign-in page) and nothing logged an error. */
  assertClean(options?: { navigatedTo?: string[] }): void;
}

/** `env` may be made first (a test's own servers started, the organizations its settings name). */
export function useConsole(env: Record<string, string> | (() => Promise<Record<string, string>>) = {}) {
  const context = {} as { app: App; url: string; browser: Browser };
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    context.app = await startApp(typeof env === 'function' ? await env() : env);
    server = await serve(context.app);
    context.url = server.url;
    context.browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await context.browser?.close();
    await server?.close();
    await context.app?.close();
  });

  return {
    get app() {
      return context.app;
    },
    get url() {
      return context.url;
    },
    /** A fresh page (its own session storage), at a laptop width unless told otherwise. */
    async open(path = '/dashboard/', viewport = { width: 1280, height: 800 }): Promise<ConsolePage> {
      // A context of its own per page: its own session storage, and axe-core can open its frames.
      const browserContext = await context.browser.newContext({ viewport });
      const page = await browserContext.newPage();
      const requests: string[] = [];
      const navigations = new Set<string>();
      const errors: string[] = [];
      page.on('request', (request) => {
        requests.push(request.url());
        if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations.add(request.url());
      });
      page.on('websocket', (ws) => requests.push(ws.url()));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      // A refused GraphQL request also names its operation and the server's answer, to say which one.
      page.on('response', async (response) => {
        if (response.status() < 400 || !response.url().endsWith('/graphql')) return;
        const operation = /(query|mutation|subscription) (\w+)/.exec(response.request().postData() ?? '')?.[2] ?? 'unnamed';
        errors.push(`${operation} answered ${response.status()}: ${await response.text().catch(() => '')}`);
      });
      await page.goto(`${context.url}${path}`);
      const origin = new URL(context.url);
      return {
        page,
        requests,
        errors,
        async look(name) {
          await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
          const { violations } = await new AxeBuilder({ page }).analyze();
          const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
          expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([]);
        },
        assertClean({ navigatedTo = [] } = {}) {
          const elsewhere = requests.filter((url) => {
            const u = new URL(url);
            if (navigations.has(url) && navigatedTo.includes(u.origin)) return false;
            return u.host !== origin.host || !['http:', 'ws:'].includes(u.protocol);
          });
          expect(elsewhere).toEqual([]);
          expect(errors).toEqual([]);
        },
      };
    },
  };
}

/** Signs in through the form, as a person does, and waits for the console to show. */
export async function signIn(page: Page, email: string, password: string) {
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
