/**
 * The worst form of every kind of input value a caller can send (a NUL byte, a lone surrogate,
 * an oversize string, list or JSON value, JSON nested thousands deep): BAD_USER_INPUT naming the
 * field, HTTP 400, nothing written, never SERVICE_UNAVAILABLE or INTERNAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { sql } from 'drizzle-orm';
import { errorFields } from '../../src/lib/logger.ts';
import { createLicense as createLicenseService } from '../../src/services/licenses/licenses.ts';
import { ADMIN_TOKEN, createLicense, gql, startApp } from '../support/harness.ts';
import { freshOrganization, seedOrganization } from '../support/organizations.ts';

let app: App;
let owner: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  app = await startApp();
  owner = await seedOrganization(app);
});
afterAll(() => app.close());

const NUL = 'a\u0000b';
const LONE = 'a\uD800b';

const expectRefused = (response: Awaited<ReturnType<typeof gql>>, field: string) => {
  expect(response.status, JSON.stringify(response)).toBe(400);
  expect(response.data ?? null).toBeNull();
  expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
};

const licenseCount = async () => (await gql(app, '{ licenses(first: 100) { edges { node { id } } } }', {}, owner.token)).data!.licenses.edges.length;

const CREATE = `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { __typename } }`;
const base = { tier: 'pro', features: ['export'], maxSeats: 1 };

describe('string inputs', () => {
  it.each([
    ['tier', { ...base, tier: NUL }, 'input.tier'],
    ['a feature', { ...base, features: ['ok', NUL] }, 'input.features[1]'],
    ['a string in metadata', { ...base, metadata: { note: NUL } }, 'input.metadata'],
    ['a key in metadata', { ...base, metadata: { [NUL]: 1 } }, 'input.metadata'],
    ['a lone surrogate in tier', { ...base, tier: LONE }, 'input.tier'],
  ])('refuses %s holding a bad character in createLicense, and creates nothing', async (_what, input, field) => {
    const before = await licenseCount();
    expectRefused(await gql(app, CREATE, { input }, owner.token), field);
    expect(await licenseCount()).toBe(before);
  });

  it('refuses a NUL in the seat path (fingerprint, clientInfo, license key) and takes no seat', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const acquire = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename } }`;
    expectRefused(await gql(app, acquire, { input: { licenseKey: license.key, fingerprint: NUL } }), 'input.fingerprint');
    expectRefused(await gql(app, acquire, { input: { licenseKey: license.key, fingerprint: 'm', clientInfo: { app: NUL } } }), 'input.clientInfo');
    expectRefused(await gql(app, acquire, { input: { licenseKey: `${license.key}\u0000`, fingerprint: 'm' } }), 'input.licenseKey');
    const validate = `mutation { validateLicense(input: { licenseKey: "${license.key}", fingerprint: "a\\u0000b" }) { valid } }`;
    expectRefused(await gql(app, validate), 'input.fingerprint');
    expect((await app.services.seats.count(license.id))?.used ?? 0).toBe(0);
  });

  it('refuses a NUL in filters, cursors and ids', async () => {
    expectRefused(await gql(app, `query($t: String) { licenses(filter: { tier: $t }) { edges { node { id } } } }`, { t: NUL }, owner.token), 't');
    expectRefused(await gql(app, `query($a: String) { licenses(after: $a) { edges { node { id } } } }`, { a: NUL }, owner.token), 'a');
    expectRefused(await gql(app, `query($id: ID!) { sessions(licenseId: $id) { edges { node { id } } } }`, { id: NUL }, owner.token), 'id');
    expectRefused(await gql(app, `{ license(id: "lic_\\u0000") { id } }`, {}, owner.token), 'id');
  });

  it('refuses a NUL in sign-in and in an API key name', async () => {
    expectRefused(await gql(app, `mutation($i: LoginInput!) { login(input: $i) { __typename } }`, { i: { email: NUL, password: 'x' } }), 'i.email');
    expectRefused(
      await gql(app, `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename } }`, { i: { name: NUL, environment: 'LIVE', scopes: [] } }, ADMIN_TOKEN),
      'i.name',
    );
  });

  it('refuses a string argument over 16384 characters', async () => {
    expectRefused(await gql(app, CREATE, { input: { ...base, tier: 'x'.repeat(20_000) } }, owner.token), 'input.tier');
  });
});

describe('lists and JSON', () => {
  it('refuses 100,000 entitlements in validateLicense before signing anything', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const entitlements = Array.from({ length: 100_000 }, (_, i) => `e${i}`);
    const response = await gql(app, `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { valid signed { token } } }`, {
      input: { licenseKey: license.key, entitlements },
    });
    expectRefused(response, 'input.entitlements');
  });

  it('refuses metadata nested 5,000 deep with BAD_USER_INPUT, not INTERNAL', async () => {
    // Written out by hand: JSON.stringify itself overflows the stack at this depth.
    const metadata = `${'{"a":'.repeat(5000)}"leaf"${'}'.repeat(5000)}`;
    const response = await app.yoga.fetch('http://leasehold.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: `{"query":${JSON.stringify(CREATE)},"variables":{"input":{"tier":"pro","features":[],"maxSeats":1,"metadata":${metadata}}}}`,
    });
    expectRefused({ status: response.status, ...((await response.json()) as object) }, 'input.metadata');
  });

  it('refuses client info over 256 KiB of JSON before the seat path sees it', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const acquire = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename } }`;
    const clientInfo = { blob: 'x'.repeat(300_000) };
    expectRefused(await gql(app, acquire, { input: { licenseKey: license.key, fingerprint: 'm', clientInfo } }), 'input.clientInfo');
    expect((await app.services.seats.count(license.id))?.used ?? 0).toBe(0);
  });

  it('still takes ordinary metadata, features and client info', async () => {
    const created = await gql(app, CREATE, { input: { ...base, features: ['a', 'b'], metadata: { customer: 'ACME', seats: [1, 2, { deep: { er: true } }] } } }, owner.token);
    expect(created.data?.createLicense.__typename).toBe('LicenseCreated');
  });
});

describe('the database', () => {
  it('answers a value it refuses as BAD_USER_INPUT, not as an outage, when a service is called directly', async () => {
    const outcome = createLicenseService(app.services, await freshOrganization(app), {
      ...base,
      tier: NUL,
      maxMachines: null,
      leaseSeconds: null,
      reviveSeconds: null,
      expiresAt: null,
      metadata: null,
    });
    await expect(outcome).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it("logs a refused statement as the driver's message and code, never the statement or its parameters", async () => {
    const failure = await app.services.db.execute(sql`select ${'secret-param\u0000'}::text as leaked_column`).then(
      () => undefined,
      (error: unknown) => error,
    );
    const fields = errorFields(failure);
    expect(fields.error).toMatch(/22021|22P05/);
    expect(JSON.stringify(fields)).not.toMatch(/leaked_column|secret-param/);
  });
});
