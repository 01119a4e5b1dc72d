/**
 * Documents a stranger can send to make the server work hard: refused before execution with a
 * typed 4xx, and signing charged per signature so aliases cannot amplify one request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ADMIN_TOKEN, createLicense, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp({
    // A license bucket that refills by a hundredth of a token a second: counts stay exact over a test.
    RATE_LIMITS: JSON.stringify({ anonymous: '1000/min', user: '100000/min', operator: '100000/min', license: '1000/day' }),
  });
});
afterAll(() => app.close());

async function post(query: string, headers: Record<string, string> = {}) {
  const response = await app.yoga.fetch(
    'http://leasehold.test/graphql',
    { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) },
    { remoteAddress: `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` },
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as { data?: any; errors?: { message: string; extensions?: any }[] } };
}

/** A refusal before execution: HTTP 400, no data, a typed code. */
function expectRefused(response: { status: number; body: { data?: unknown; errors?: { extensions?: any }[] } }) {
  expect(response.status).toBe(400);
  expect(response.body.data).toBeUndefined();
  expect(['BAD_USER_INPUT', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED']).toContain(response.body.errors?.[0]?.extensions?.code);
}

describe('query limits', () => {
  it('refuses a document nested 20,000 deep with BAD_USER_INPUT and HTTP 400, not a crash', async () => {
    const query = `{ ${'viewer { '.repeat(20_000)}kind${' }'.repeat(20_000)} }`;
    const response = await post(query);
    expectRefused(response);
    expect(response.text).not.toMatch(/RangeError|at .*\.(ts|js):\d+/);
  });

  it('refuses a document deeper than the depth limit', async () => {
    const deep = `{ __type(name: "License") { ${'fields { type { ofType { '.repeat(5)}name${' } } }'.repeat(5)} } }`;
    const response = await post(deep);
    expectRefused(response);
    expect(response.body.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('refuses 1,000 aliases of validateLicense before any of them executes', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const fields = Array.from({ length: 1000 }, (_, i) => `v${i}: validateLicense(input: { licenseKey: "${license.key}" }) { valid signed { token } }`);
    expectRefused(await post(`mutation { ${fields.join(' ')} }`));
  });

  it('refuses more signed documents than an anonymous request may carry, whatever the aliases or fragments', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const six = Array.from({ length: 6 }, (_, i) => `v${i}: validateLicense(input: { licenseKey: "${license.key}" }) { valid }`);
    const aliased = await post(`mutation { ${six.join(' ')} }`);
    expect(aliased.status).toBe(400);
    expect(aliased.body.data).toBeUndefined();
    expect(aliased.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/at most 5/), extensions: { code: 'BAD_USER_INPUT' } });

    const fragment = `fragment V on Mutation { ${six.slice(0, 3).join(' ')} }`;
    const spread = await post(`mutation { ...V a: __typename ... on Mutation { ...V } } ${fragment}`);
    expectRefused(spread);
    expect(spread.body.errors?.[0]?.message).toMatch(/up to 6 signed documents/);
  });

  it('charges one rate-limit token per signed document', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const remaining = async (count: number) => {
      const fields = Array.from({ length: count }, (_, i) => `v${i}: validateLicense(input: { licenseKey: "${license.key}" }) { valid }`);
      const { status, headers } = await post(`mutation { ${fields.join(' ')} }`);
      expect(status).toBe(200);
      return Number(headers.get('x-ratelimit-remaining'));
    };
    expect(await remaining(1)).toBe(999);
    expect(await remaining(4)).toBe(995);
  });

  it('refuses certificates past the per-request bound for a credential too, counting every page', async () => {
    const { status, body } = await post(
      `{ a: licenses(first: 100) { edges { node { certificate(fingerprint: "m") { token } } } } b: licenses(first: 1) { edges { node { certificate(fingerprint: "m") { token } } } } }`,
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/up to 101 signed documents/), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('gives no field suggestions to a stranger', async () => {
    const response = await post('{ licencess { totalCount } }');
    expectRefused(response);
    expect(response.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});

describe('page sizes', () => {
  it.each([0, -5, 101])('refuses first: %i with BAD_USER_INPUT naming first, rather than clamping it', async (first) => {
    const { body } = await post(`{ licenses(first: ${first}) { edges { node { id } } } }`, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(body.data?.licenses ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('refuses first: 2^31-1 before execution', async () => {
    expectRefused(await post(`{ licenses(first: ${2 ** 31 - 1}) { edges { node { id } } } }`, { authorization: `Bearer ${ADMIN_TOKEN}` }));
  });
});
