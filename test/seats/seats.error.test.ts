/** Bad input on the seat path gets a typed error or BAD_USER_INPUT with a code, never a 500. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import {
  ACQUIRE,
  HEARTBEAT,
  RELEASE,
  acquire,
  admin,
  createLicense,
  gql,
  heartbeat,
  release,
  startApp,
  type LicenseFixture,
} from '../support/harness.ts';

let app: App;
let license: LicenseFixture;
beforeAll(async () => {
  app = await startApp();
  license = await createLicense(app, { maxSeats: 2 });
});
afterAll(() => app.close());

const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;

describe('bad input on the seat path', () => {
  it('answers LicenseNotFound for an unknown, empty, mistyped or 10 kB key', async () => {
    const mistyped = license.key.slice(0, -1) + (license.key.endsWith('a') ? 'b' : 'a');
    for (const key of ['', 'lhk_' + 'x'.repeat(33), mistyped, 'k'.repeat(10_240)]) {
      expect(await acquire(app, key, 'fp')).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
    }
  });

  it('refuses an empty or 10 kB fingerprint with BAD_USER_INPUT', async () => {
    for (const fingerprint of ['', 'f'.repeat(10_240)]) {
      const r = await gql(app, ACQUIRE, { input: { licenseKey: license.key, fingerprint } });
      expect(r.status).toBeLessThan(500);
      expect(code(r)).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses a malformed session id with BAD_USER_INPUT and an unknown one with SessionNotFound', async () => {
    for (const query of [HEARTBEAT, RELEASE]) {
      const r = await gql(app, query, { input: { licenseKey: license.key, sessionId: 'not-an-id' } });
      expect(code(r)).toBe('BAD_USER_INPUT');
    }
    expect(await heartbeat(app, license.key, 'ses_0000000000000000000000')).toMatchObject({ __typename: 'SessionNotFound' });
    expect(await release(app, license.key, 'ses_0000000000000000000000')).toMatchObject({ __typename: 'SessionNotFound' });
  });

  it("does not let one license's key touch another license's session", async () => {
    const other = await createLicense(app, { maxSeats: 1 });
    const granted = await acquire(app, other.key, 'theirs');
    expect(await heartbeat(app, license.key, granted.session.id)).toMatchObject({ __typename: 'SessionNotFound' });
    expect(await release(app, license.key, granted.session.id)).toMatchObject({ __typename: 'SessionNotFound' });
    expect((await app.services.seats.count(other.id))?.used).toBe(1);
  });

  it('answers wrong types with a coded client error, not a 500', async () => {
    const cases = [
      { query: ACQUIRE, variables: { input: { licenseKey: 5, fingerprint: true } } },
      { query: ACQUIRE, variables: { input: { licenseKey: license.key } } },
      { query: 'mutation { acquireSeat(input: { licenseKey: 1 }) { __typename } }', variables: {} },
      { query: '{ nope }', variables: {} },
    ];
    for (const c of cases) {
      const r = await gql(app, c.query, c.variables);
      expect(r.status).toBeGreaterThanOrEqual(200);
      expect(r.status).toBeLessThan(500);
      expect(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']).toContain(code(r));
    }
  });

  it('refuses a body over the size limit with 413', async () => {
    const response = await app.yoga.fetch('http://leasehold.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: ACQUIRE, variables: { input: { licenseKey: 'x'.repeat(2_000_000), fingerprint: 'f' } } }),
    });
    expect(response.status).toBe(413);
  });

  it('refuses admin operations without the operator credential', async () => {
    const anonymous = await gql(app, `{ licenses { edges { node { id } } } }`);
    expect(code(anonymous)).toBe('UNAUTHENTICATED');
    const wrong = await gql(app, `{ licenses { edges { node { id } } } }`, {}, 'not-the-token');
    expect(code(wrong)).toBe('UNAUTHENTICATED');
  });

  it('answers InvalidInput for license limits out of range', async () => {
    const r = await admin(
      app,
      `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { __typename ... on InvalidInput { code field } } }`,
      { input: { tier: 'pro', features: [], maxSeats: 0 } },
    );
    expect(r.data?.createLicense).toEqual({ __typename: 'InvalidInput', code: 'INVALID_INPUT', field: 'maxSeats' });
  });
});
