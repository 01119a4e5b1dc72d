/**
 * Persisted operations: the SDK's documents by hash over HTTP and graphql-ws, and a server that
 * refuses anything else from callers without a credential (ANONYMOUS_OPERATIONS=persisted).
 */
import manifest from '@leasehold/client/persisted-operations.json' with { type: 'json' };
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ACQUIRE, ADMIN_TOKEN, createLicense, startApp } from '../support/harness.ts';
import { serve, wsClient } from '../support/server.ts';

const hashOf = (operation: string) => Object.entries(manifest as Record<string, string>).find(([, document]) => document.startsWith(`mutation ${operation}(`))![0];

async function post(app: App, body: Record<string, unknown>, token?: string) {
  const response = await app.yoga.fetch('http://leasehold.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as { data?: Record<string, any>; errors?: { extensions?: Record<string, unknown> }[] }) };
}

const byHash = (operation: string, variables: Record<string, unknown>) => ({
  operationName: operation,
  variables,
  extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(operation) } },
});

const seatsUsed = async (app: App, licenseId: string) => (await app.services.seats.count(licenseId))?.used ?? 0;

describe.each(['any', 'persisted'])('with ANONYMOUS_OPERATIONS=%s', (mode) => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({ ANONYMOUS_OPERATIONS: mode });
  });
  afterAll(() => app.close());

  it("runs the SDK's documents named by hash alone", async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const granted = await post(app, byHash('AcquireSeat', { input: { licenseKey: license.key, fingerprint: 'by-hash' } }));
    expect(granted.data?.acquireSeat).toMatchObject({ __typename: 'SeatGranted', session: { fingerprint: 'by-hash' }, lease: { token: expect.any(String) } });
    const released = await post(app, byHash('ReleaseSeat', { input: { licenseKey: license.key, sessionId: granted.data!.acquireSeat.session.id } }));
    expect(released.data?.releaseSeat).toEqual({ __typename: 'SeatReleased' });
  });

  it('answers PERSISTED_QUERY_NOT_FOUND for a hash it does not know', async () => {
    const unknown = await post(app, { variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('runs any document from a caller with a credential', async () => {
    const viewer = await post(app, { query: '{ viewer { kind } }' }, ADMIN_TOKEN);
    expect(viewer.data?.viewer).toEqual({ kind: 'operator' });
  });

  it(mode === 'any' ? 'runs any document from a caller without one' : 'refuses any other document from a caller without one, and takes no seat', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const result = await post(app, { query: ACQUIRE, variables: { input: { licenseKey: license.key, fingerprint: 'own-document' } } });
    if (mode === 'any') {
      expect(result.data?.acquireSeat.__typename).toBe('SeatGranted');
      return;
    }
    expect(result.status).toBe(403);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'PERSISTED_OPERATIONS_ONLY' });
    expect(await seatsUsed(app, license.id)).toBe(0);
  });

  it('does not let a credential that fails to verify pass for one', async () => {
    const result = await post(app, { query: '{ viewer { kind } }' }, 'not-a-credential');
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.data ?? null).toBeNull();
  });

  it('applies the same rule over graphql-ws', async () => {
    const served = await serve(app);
    const run = (token: string | null, payload: { query: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> }) => {
      const client = wsClient(served.wsUrl, token);
      return new Promise<{ data?: any; errors?: any[] }>((resolve) => {
        client.subscribe(payload, {
          next: (value) => resolve(value as never),
          error: (error) => resolve({ errors: Array.isArray(error) ? error : [error] }),
          complete: () => {},
        });
      }).finally(() => client.dispose());
    };
    try {
      const license = await createLicense(app, { maxSeats: 1 });
      const variables = { input: { licenseKey: license.key, nonce: 'ws' } };
      const persisted = await run(null, { query: '', ...byHash('ValidateLicense', variables) });
      expect(persisted.data?.validateLicense.signed.token).toEqual(expect.any(String));
      const own = await run(null, { query: '{ __typename }' });
      if (mode === 'any') expect(own.data).toEqual({ __typename: 'Query' });
      else expect(own.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'PERSISTED_OPERATIONS_ONLY' });
      expect((await run(ADMIN_TOKEN, { query: '{ viewer { kind } }' })).data?.viewer).toEqual({ kind: 'operator' });
    } finally {
      await served.close();
    }
  });
});
