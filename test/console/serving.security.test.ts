/** The console is served by the server itself, under a strict CSP, with nothing embedded and no file outside its build. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startApp } from '../support/harness.ts';

let app: App;
let unbuilt: App;
beforeAll(async () => {
  [app, unbuilt] = await Promise.all([startApp(), startApp({ CONSOLE_DIR: '/nonexistent/console' })]);
});
afterAll(async () => {
  await Promise.all([app.close(), unbuilt.close()]);
});

const get = (path: string, init: RequestInit = {}, on = app) =>
  on.yoga.fetch(`http://leasehold.test${path}`, init, { remoteAddress: '127.0.0.1' });

/** The console's policy, directive by directive (their order is the header's business). */
const policy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const directives = (header: string | null) => new Set((header ?? '').split(';').map((d) => d.trim()));

describe('the console', () => {
  it('sends / and /admin to /dashboard/ and answers every route of the page with its index, under the CSP', async () => {
    for (const path of ['/', '/admin']) {
      const root = await get(path, { redirect: 'manual' });
      expect(root.status, path).toBe(302);
      expect(root.headers.get('location')).toBe('/dashboard/');
    }
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/licenses/lic_x', '/dashboard/webhooks']) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(directives(response.headers.get('content-security-policy'))).toEqual(directives(policy));
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const html = await response.text();
      expect(html).toContain('<div id="root">');
      // Every script and stylesheet is a file of the origin: nothing inline, nothing from elsewhere.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/dashboard\/assets\/)[^>]*>/);
      expect(html).not.toMatch(/<style|style=|https?:\/\//);
    }
  });

  it('embeds no credential, even in the embedded mode where GraphiQL gets one', async () => {
    const html = await (await get('/dashboard/')).text();
    expect(html).not.toMatch(/pk_(live|test)_|Bearer|token/i);
  });

  it('serves hashed assets compressed and cached for good, and nothing that is not a file of the build', async () => {
    const html = await (await get('/dashboard/')).text();
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const plain = await get(script);
    const zipped = await get(script, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(zipped.headers.get('vary')).toBe('accept-encoding');
    const body = new Uint8Array(await zipped.arrayBuffer());
    const unzipped = await new Response(new Blob([body]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
    expect(unzipped).toBe(await plain.text());
    for (const path of [
      '/dashboard/assets/missing.js',
      '/dashboard/../package.json',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/..%2fpackage.json',
      '/dashboard/index.html/x.js',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(await response.text()).not.toContain('leasehold');
    }
  });

  it('answers HEAD without a body, and refuses other methods', async () => {
    const head = await get('/dashboard/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await get('/dashboard/', { method, body: method === 'DELETE' ? null : 'x' });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('keeps its CSP for a missing file, and leaves other routes to theirs', async () => {
    const missing = await get('/dashboard/assets/missing.js');
    expect(directives(missing.headers.get('content-security-policy'))).toEqual(directives(policy));
    expect((await get('/health')).headers.get('content-security-policy')).not.toContain("script-src 'self'");
  });

  it('says how to build it when it was not built', async () => {
    const response = await get('/dashboard/', {}, unbuilt);
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/not built.*npm run build:console/);
    expect(directives(response.headers.get('content-security-policy'))).toEqual(directives(policy));
    expect((await get('/health', {}, unbuilt)).status).toBe(200);
  });
});
