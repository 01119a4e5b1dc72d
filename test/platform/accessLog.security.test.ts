/**
 * The access log: one line per request with its operation, status, duration and request id,
 * and never a credential or a variable, whether the secret came in a header, in the variables
 * of a POST or in the query string of a GET.
 */
import { describe, expect, it } from 'vitest';
import { admin, ADMIN_TOKEN, createLicense } from '../support/harness.ts';
import { servedApp } from '../support/server.ts';

const lines: string[] = [];
const served = servedApp({ LOG_LEVEL: 'info' }, { logTo: { write: (line: string) => void lines.push(line) } });

const accessLines = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'request');

describe('the access log', () => {
  it('writes one line per request: operation, status, result, duration and the request id the answer carries', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    lines.length = 0;
    const response = await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-from-the-client' },
      body: JSON.stringify({
        query: 'mutation Acquire($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename } }',
        variables: { input: { licenseKey: license.key, fingerprint: 'machine-a' } },
      }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-from-the-client');
    const [line, ...more] = accessLines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      level: 'info',
      message: 'request',
      requestId: 'req-from-the-client',
      method: 'POST',
      path: '/graphql',
      operation: 'Acquire',
      result: 'ok',
      status: 200,
    });
    expect(line!.durationMs).toEqual(expect.any(Number));
    expect(Date.parse(line!.time as string)).toBeGreaterThan(0);

    const fresh = await fetch(`${served.url}/health`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never writes a license key, an API key, the admin token or a variable, wherever the request carried them', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const created = await admin(
      served.app,
      `mutation { createApiKey(input: { name: "logged", environment: LIVE, scopes: ["licenses:read"] }) { ... on ApiKeyCreated { secret } } }`,
    );
    const apiKey = created.data!.createApiKey.secret as string;
    lines.length = 0;
    const query = 'mutation Acquire($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename } }';
    const variables = { input: { licenseKey: license.key, fingerprint: 'fingerprint-not-for-logs' } };
    await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query, variables }),
    });
    await fetch(`${served.url}/graphql?query=${encodeURIComponent('query Licenses { licenses { totalCount } }')}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await fetch(`${served.url}/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`);
    // A broken body and a wrong credential go through the error paths.
    await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${license.key}` },
      body: '{',
    });
    await fetch(`${served.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}x` },
      body: JSON.stringify({ query, variables }),
    });

    expect(accessLines()).toHaveLength(5);
    const output = lines.join('');
    for (const secret of [license.key, apiKey, apiKey.slice(0, 24), ADMIN_TOKEN, 'fingerprint-not-for-logs'])
      expect(output).not.toContain(secret);
    expect(accessLines().map((line) => line.path)).toEqual(Array(5).fill('/graphql'));
  });

  it('logs probes at debug only, so LOG_LEVEL=info leaves them out', async () => {
    lines.length = 0;
    await fetch(`${served.url}/health`);
    await fetch(`${served.url}/ready`);
    expect(accessLines()).toEqual([]);
  });
});
