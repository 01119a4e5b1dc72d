/**
 * The door over real HTTP: what a browser on another site, an oversize upload or a failing
 * route can make the server answer. Every answer is a clear 4xx (or a masked 500), carries the
 * security headers, and leaks no stack or path.
 */
import { describe, expect, it } from 'vitest';
import type { Signer } from '../../src/lib/jws.ts';
import { ACQUIRE, createLicense, startApp } from '../support/harness.ts';
import { serve, servedApp } from '../support/server.ts';

const LEAK = /\bat .+:\d+:\d+|\/work\/|node_modules|[A-Za-z]+Error:/;

const served = servedApp({ MAX_REQUEST_BYTES: '65536', CORS_ORIGINS: 'https://console.example.com', TRUSTED_PROXIES: '127.0.0.1/32' });

const seatsUsed = async (licenseId: string) => (await served.app.services.seats.count(licenseId))?.used ?? 0;

describe('cross-site requests', () => {
  it.each([
    ['application/x-www-form-urlencoded', (q: string) => new URLSearchParams({ query: q }).toString()],
    ['multipart/form-data; boundary=x', (q: string) => `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${q}\r\n--x--\r\n`],
    ['text/plain', (q: string) => JSON.stringify({ query: q })],
    ['application/graphql', (q: string) => q],
  ])('refuses a %s POST with 415 and takes no seat', async (contentType, body) => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const query = `mutation { acquireSeat(input: { licenseKey: "${license.key}", fingerprint: "csrf" }) { __typename } }`;
    const response = await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, origin: 'https://evil.example' },
      body: body(query),
    });
    expect(response.status).toBe(415);
    expect((await response.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(await seatsUsed(license.id)).toBe(0);
  });

  it('runs a JSON POST sent as application/graphql-response+json', async () => {
    const response = await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(200);
    expect((await response.json()).data).toEqual({ __typename: 'Query' });
  });

  it('refuses a mutation over GET', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const query = `mutation { acquireSeat(input: { licenseKey: "${license.key}", fingerprint: "get" }) { __typename } }`;
    const response = await fetch(`${served.url}/graphql?query=${encodeURIComponent(query)}`);
    expect(response.status).toBe(405);
    expect(await seatsUsed(license.id)).toBe(0);
  });

  it('answers no CORS header to an origin it does not list, on the preflight and on the POST', async () => {
    const preflight = await fetch(`${served.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const post = await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens CORS to a listed origin, without credentials', async () => {
    const preflight = await fetch(`${served.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('keeps CORS closed by default', async () => {
    const closed = await startApp();
    try {
      const response = await closed.yoga.fetch('http://leasehold.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://console.example.com' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await closed.close();
    }
  });
});

describe('request bodies', () => {
  async function* chunks(total: number) {
    const chunk = new Uint8Array(16_384).fill(0x20);
    yield new TextEncoder().encode('{"query":"{ __typename }"');
    for (let sent = 0; sent < total; sent += chunk.byteLength) yield chunk;
    yield new TextEncoder().encode('}');
  }
  /** A JSON body of about `total` bytes, sent without Content-Length (Transfer-Encoding: chunked). */
  const postChunked = (total: number) =>
    fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: (ReadableStream as unknown as { from: (it: AsyncIterable<Uint8Array>) => ReadableStream }).from(chunks(total)),
      duplex: 'half',
    } as RequestInit);

  it('answers a chunked body over the limit with 413 and no stack or path, and keeps serving', async () => {
    const response = await postChunked(2_000_000);
    expect(response.status).toBe(413);
    const text = await response.text();
    expect(text).not.toMatch(LEAK);
    expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const next = await fetch(`${served.url}/health`);
    expect(next.status).toBe(200);
  });

  it('runs a chunked body under the limit', async () => {
    const response = await postChunked(1000);
    expect(response.status).toBe(200);
    expect((await response.json()).data).toEqual({ __typename: 'Query' });
  });

  it('answers a body with Content-Length over the limit with 413', async () => {
    const response = await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(100_000) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.text()).not.toMatch(LEAK);
  });

  it('answers a route that fails unexpectedly with a masked 500, no stack, and the security headers', async () => {
    const failing: Signer = { ...served.app.services.signer, publicJwks: () => Promise.reject(new Error('key ring at /secret/path exploded')) };
    const broken = await startApp({}, { signer: failing });
    try {
      const response = await broken.yoga.fetch('http://leasehold.test/.well-known/jwks.json');
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toMatch(LEAK);
      expect(text).not.toContain('/secret/path');
      expect(JSON.parse(text).errors[0].extensions.code).toBe('INTERNAL');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await broken.close();
    }
  });
});

describe('security headers', () => {
  const expectHeaders = (response: Response) => {
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('permissions-policy')).toMatch(/camera=\(\)/);
  };

  it.each(['/graphql', '/health', '/ready', '/.well-known/jwks.json', '/nowhere'])('are on every answer of GET %s', async (path) => {
    const response = await fetch(`${served.url}${path}`);
    await response.arrayBuffer();
    expectHeaders(response);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('are on GraphQL answers, refusals included', async () => {
    const ok = await fetch(`${served.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expectHeaders(ok);
    const refused = await fetch(`${served.url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expectHeaders(refused);
  });

  it('give GraphiQL a CSP that allows its own inline scripts by hash and nothing inline else', async () => {
    const response = await fetch(`${served.url}/graphql`, { headers: { accept: 'text/html' } });
    const page = await response.text();
    expectHeaders(response);
    const csp = response.headers.get('content-security-policy')!;
    const scriptSrc = /script-src ([^;]+)/.exec(csp)![1]!;
    expect(scriptSrc).not.toMatch(/unsafe-inline|\*|https?:/);
    const inline = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)];
    expect(inline.length).toBeGreaterThan(0);
    const { createHash } = await import('node:crypto');
    for (const [, script] of inline) expect(scriptSrc).toContain(`'sha256-${createHash('sha256').update(script!).digest('base64')}'`);
  });

  it('send HSTS only for requests that arrived over https, per a trusted proxy', async () => {
    const plain = await fetch(`${served.url}/health`);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    const proxied = await fetch(`${served.url}/health`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(proxied.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    const direct = await served.app.yoga.fetch('https://leasehold.test/health');
    expect(direct.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('do not believe X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    const response = await served.app.yoga.fetch('http://leasehold.test/health', { headers: { 'x-forwarded-proto': 'https' } }, { remoteAddress: '203.0.113.9' });
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('refused operations', () => {
  it('say Retry-After once, over HTTP as in process', async () => {
    const limited = await startApp({ RATE_LIMITS: JSON.stringify({ anonymous: '1000/min', user: '1000/min', operator: '1000/min', license: '1/min' }) });
    const limitedServer = await serve(limited);
    try {
      const license = await createLicense(limited, { maxSeats: 5 });
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ACQUIRE, variables: { input: { licenseKey: license.key, fingerprint: 'retry' } } }) };
      expect((await fetch(`${limitedServer.url}/graphql`, init)).status).toBe(200);
      for (const refused of [await fetch(`${limitedServer.url}/graphql`, init), await limited.yoga.fetch('http://leasehold.test/graphql', init, { remoteAddress: '127.0.0.1' })]) {
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    } finally {
      await limitedServer.close();
      await limited.close();
    }
  });
});
