/**
 * Rate limits as HTTP clients see them: every GraphQL response carries X-RateLimit-Limit,
 * -Remaining and -Reset; over the limit it is a RATE_LIMITED error with retryAfter, HTTP 429
 * and Retry-After. Needs the rate-limit plugin wired into app.ts (issue 4).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { createApiKey } from '../../src/services/apiKeys/management.ts';
import type { Actor } from '../../src/services/context.ts';
import { SCOPES, type Scope } from '../../src/services/principals.ts';
import { unwrap } from '../../src/services/errors.ts';
import { apiKeyUsage } from '../../src/services/usage/reporting.ts';

import { createLicense, REDIS_URL, startApp } from '../support/harness.ts';
import { freshOrganization } from '../support/organizations.ts';

const RATE_LIMITS = {
  anonymous: '5/min',
  operator: '100000/min',
  license: '4/min',
  apiKeyTiers: {
    // 1000 a day refills ~0.01 token/s: no token comes back while a test runs, so counts are exact.
    bulk: { requests: 1000, perSeconds: 86_400 },
    tiny: '3/min',
  },
};

let app: App;
let actor: Actor;
beforeAll(async () => {
  app = await startApp({ RATE_LIMITS: JSON.stringify(RATE_LIMITS) });
  actor = await freshOrganization(app);
});
afterAll(() => app.close());

/** A fresh client address per test, so tests never share an anonymous bucket (also across runs). */
const freshIp = () => `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

async function post(query: string, options: { token?: string; ip?: string; variables?: Record<string, unknown> } = {}) {
  const response = await app.yoga.fetch(
    'http://leasehold.test/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      body: JSON.stringify({ query, variables: options.variables ?? {} }),
    },
    { remoteAddress: options.ip ?? freshIp() },
  );
  const header = (name: string) => response.headers.get(name);
  const body = (await response.json()) as { data?: Record<string, any>; errors?: { message: string; extensions?: Record<string, any> }[] };
  return {
    status: response.status,
    body,
    limit: Number(header('x-ratelimit-limit')),
    remaining: Number(header('x-ratelimit-remaining')),
    reset: Number(header('x-ratelimit-reset')),
    retryAfter: header('retry-after'),
    hasHeaders: header('x-ratelimit-limit') !== null,
  };
}

async function apiKey(tier: string, scopes: Scope[] = ['apikeys:read', 'usage:read']) {
  const result = await createApiKey(app.services, actor, { name: `${tier} integration`, environment: 'live', scopes, tier }, SCOPES);
  if (!result.ok) throw result.error;
  return result.value;
}

const LIST_KEYS = `{ apiKeys { id } }`;
const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename ... on SeatGranted { session { id } } } }`;
const HEARTBEAT = `mutation($input: HeartbeatSeatInput!) { heartbeatSeat(input: $input) { __typename } }`;
const VALIDATE = `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { __typename } }`;

describe('rate-limit headers', () => {
  it('are on every response: limit, remaining, and the Unix second the bucket is full again', async () => {
    const ip = freshIp();
    const before = Math.floor(Date.now() / 1000);
    const first = await post(`{ __typename }`, { ip });
    expect(first.status).toBe(200);
    expect(first).toMatchObject({ limit: 5, remaining: 4 });
    expect(first.reset).toBeGreaterThanOrEqual(before + 11); // one token of 5/min takes 12 s
    expect(first.reset).toBeLessThanOrEqual(before + 14);
    expect((await post(`{ __typename }`, { ip })).remaining).toBe(3);
  });

  it('move an API key’s bucket by exactly 100 for 100 concurrent requests', async () => {
    const { secret } = await apiKey('bulk');
    const responses = await Promise.all(Array.from({ length: 100 }, () => post(LIST_KEYS, { token: secret })));
    expect(responses.every((r) => r.status === 200 && r.limit === 1000)).toBe(true);
    expect(responses.map((r) => r.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => 900 + i));
    expect((await post(LIST_KEYS, { token: secret })).remaining).toBe(899);
  });

  it('are absent from health checks, which are never limited', async () => {
    const ip = freshIp();
    for (let i = 0; i < 7; i++) {
      const response = await app.yoga.fetch('http://leasehold.test/health', {}, { remoteAddress: ip });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});

describe('over the limit', () => {
  it('answers RATE_LIMITED with retryAfter, HTTP 429 and Retry-After', async () => {
    const { secret } = await apiKey('tiny');
    for (let i = 0; i < 3; i++) expect((await post(LIST_KEYS, { token: secret })).status).toBe(200);
    const refused = await post(LIST_KEYS, { token: secret });
    expect(refused.status).toBe(429);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    const retryAfter = refused.body.errors![0]!.extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20); // one token of 3/min
    expect(refused.retryAfter).toBe(String(retryAfter));
    expect(refused).toMatchObject({ limit: 3, remaining: 0 });
  });

  it('limits anonymous callers per address: one address exhausted, another still served', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await post(`{ __typename }`, { ip })).status).toBe(200);
    expect((await post(`{ __typename }`, { ip })).status).toBe(429);
    expect((await post(`{ __typename }`, { ip: freshIp() })).status).toBe(200);
  });

  it('counts a refused credential and an invalid query against the address too', async () => {
    const ip = freshIp();
    const badKey = await post(LIST_KEYS, { ip, token: `pk_live_${'A'.repeat(43)}` });
    expect(badKey.status).toBe(401);
    expect(badKey).toMatchObject({ limit: 5, remaining: 4 });
    const invalid = await post(`{ noSuchField }`, { ip });
    expect(invalid).toMatchObject({ limit: 5, remaining: 3 });
    for (let i = 0; i < 3; i++) await post(`{ __typename }`, { ip });
    const refused = await post(LIST_KEYS, { ip, token: `pk_live_${'B'.repeat(43)}` });
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused.retryAfter).not.toBeNull();
  });

  it('limits the seat path per license, not per address: machines behind one NAT share nothing but their license', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) await post(`{ __typename }`, { ip }); // the address is spent
    const license = await createLicense(app, { maxSeats: 10 });
    const other = await createLicense(app, { maxSeats: 10 });
    for (let i = 0; i < 4; i++) {
      const granted = await post(ACQUIRE, { ip, variables: { input: { licenseKey: license.key, fingerprint: `m${i}` } } });
      expect(granted.body.data?.acquireSeat.__typename).toBe('SeatGranted');
      expect(granted).toMatchObject({ limit: 4, remaining: 3 - i });
    }
    const refused = await post(ACQUIRE, { ip, variables: { input: { licenseKey: license.key, fingerprint: 'm5' } } });
    expect(refused.status).toBe(429);
    const otherLicense = await post(ACQUIRE, { ip, variables: { input: { licenseKey: other.key, fingerprint: 'm0' } } });
    expect(otherLicense.body.data?.acquireSeat.__typename).toBe('SeatGranted');
  });

  it('takes a seat operation’s license token in its one Redis call: a heartbeat is one round trip', async () => {
    const license = await createLicense(app, { maxSeats: 10 });
    const ip = freshIp();
    const granted = await post(ACQUIRE, { ip, variables: { input: { licenseKey: license.key, fingerprint: 'rt' } } });
    const sessionId = granted.body.data?.acquireSeat.session.id as string;
    // Redis MONITOR on a plain socket (ioredis's monitor mode loses its place when the shared
    // Redis is busy): one line per command, `+<time> [<db> <client>|lua] "command" "args"…`.
    const url = new URL(REDIS_URL);
    const monitor = connect({ host: url.hostname, port: Number(url.port || 6379) });
    try {
      let lines = '';
      monitor.on('data', (chunk: Buffer) => (lines += chunk.toString()));
      monitor.write('MONITOR\r\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const renewed = await post(HEARTBEAT, { ip, variables: { input: { licenseKey: license.key, sessionId } } });
      expect(renewed.body.data?.heartbeatSeat.__typename).toBe('SeatRenewed');
      expect(renewed).toMatchObject({ limit: 4, remaining: 2 });
      await new Promise((resolve) => setTimeout(resolve, 100)); // MONITOR lines arrive after the replies
      // Other suites share this Redis: count only commands that name this license or this address.
      // Commands a script runs are listed too, from "lua": they are not round trips.
      const seen = lines
        .split('\r\n')
        .filter((line) => !/^\+\S+ \[\d+ lua\]/.test(line) && (line.includes(license.id) || line.includes(ip)));
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/\] "eval(sha)?" /i);
      expect(seen[0]).toContain(`"lh:{${license.id}}:rate"`);
    } finally {
      monitor.destroy();
    }
  });

  it('refuses a heartbeat over the license’s limit as a whole: HTTP 429, no data', async () => {
    const license = await createLicense(app, { maxSeats: 10 });
    const granted = await post(ACQUIRE, { variables: { input: { licenseKey: license.key, fingerprint: 'hb' } } });
    const input = { licenseKey: license.key, sessionId: granted.body.data?.acquireSeat.session.id as string };
    for (let i = 0; i < 3; i++) expect((await post(HEARTBEAT, { variables: { input } })).status).toBe(200);
    const refused = await post(HEARTBEAT, { variables: { input } });
    expect(refused.status).toBe(429);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(refused).toMatchObject({ limit: 4, remaining: 0 });
    expect(refused.retryAfter).toBe(String(refused.body.errors![0]!.extensions!.retryAfter));
  });

  it('shares one bucket between the seat operations and validateLicense of a license', async () => {
    const license = await createLicense(app, { maxSeats: 10 });
    await post(ACQUIRE, { variables: { input: { licenseKey: license.key, fingerprint: 'v' } } });
    const validated = await post(VALIDATE, { variables: { input: { licenseKey: license.key } } });
    expect(validated.body.data?.validateLicense.__typename).toBeDefined();
    expect(validated).toMatchObject({ limit: 4, remaining: 2 });
  });

  it('counts a seat operation that never reaches the seat store against the address', async () => {
    const ip = freshIp();
    const license = await createLicense(app, { maxSeats: 10 });
    const malformed = await post(HEARTBEAT, { ip, variables: { input: { licenseKey: license.key, sessionId: 'not-a-session' } } });
    expect(malformed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(malformed).toMatchObject({ limit: 5, remaining: 4 });
  });

  it('counts a made-up license key against the address, so it cannot mint fresh buckets', async () => {
    const ip = freshIp();
    const forged = await post(ACQUIRE, { ip, variables: { input: { licenseKey: 'lhk_' + 'x'.repeat(33), fingerprint: 'f' } } });
    expect(forged.body.data?.acquireSeat.__typename).toBe('LicenseNotFound');
    expect(forged).toMatchObject({ limit: 5, remaining: 4 });
  });
});

describe('API-key usage', () => {
  it('records each request of a key, its errors and its rate-limit refusals', async () => {
    const { apiKey: key, secret } = await apiKey('tiny', ['apikeys:read', 'usage:read', 'audit:read']);
    await post(LIST_KEYS, { token: secret });
    await post(`{ licenses(first: 1) { edges { node { id } } } }`, { token: secret }); // no licenses:read: an error
    await post(LIST_KEYS, { token: secret });
    await post(LIST_KEYS, { token: secret }); // refused
    await app.services.usage.flush();
    const today = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
    const report = unwrap(await apiKeyUsage(app.services, actor.orgId, today, new Date(today.getTime() + 86_400_000)));
    expect(report.keys.find((k) => k.apiKey.id === key.id)).toMatchObject({ requests: 4, errors: 2, rateLimited: 1, uniqueConsumers: 4 });
  });
});
