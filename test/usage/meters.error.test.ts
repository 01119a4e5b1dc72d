/**
 * What recordUsage and meter definitions refuse: bad amounts, keys, names and metadata answer a
 * clear BAD_USER_INPUT or InvalidInput and count nothing; unknown keys and meters, and licenses
 * that are not active, answer their typed errors; the license-key rate limit still applies.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { meterUsage } from '../../src/db/schema.ts';
import { admin, gql, startApp } from '../support/harness.ts';

let app: App;
let limited: App;
beforeAll(async () => {
  app = await startApp();
  limited = await startApp({ RATE_LIMITS: JSON.stringify({ anonymous: '1000/min', license: '3/min' }) });
});
afterAll(async () => {
  await app.close();
  await limited.close();
});

const CREATE = `mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  __typename ... on LicenseCreated { key license { id } } ... on InvalidInput { field message } } }`;
const RECORD = `mutation($input: RecordUsageInput!) { recordUsage(input: $input) {
  __typename ... on MeterExhausted { meter { used } } ... on Error { code message } } }`;

async function meteredLicense(on: App, meters = [{ name: 'calls', limit: 5, period: 'DAY' }]) {
  const r = await admin(on, CREATE, { input: { tier: 'pro', features: [], maxSeats: 1, meters } });
  if (r.data?.createLicense.__typename !== 'LicenseCreated') throw new Error(JSON.stringify(r));
  return { id: r.data.createLicense.license.id as string, key: r.data.createLicense.key as string };
}

const record = (on: App, input: Record<string, unknown>) => gql(on, RECORD, { input });
const usedOf = async (licenseId: string) => {
  await app.services.meterUsage.flush();
  return (await app.services.db.select().from(meterUsage).where(eq(meterUsage.licenseId, licenseId))).length;
};

describe('recordUsage refuses', () => {
  it.each([
    ['amount', 0],
    ['amount', -3],
    ['amount', 1_000_000_001],
    ['idempotencyKey', ''],
    ['idempotencyKey', 'k'.repeat(256)],
    ['meter', ''],
    ['meter', 'm'.repeat(65)],
    ['metadata', { blob: 'x'.repeat(5000) }],
  ])('%s = %j with BAD_USER_INPUT naming the field, counting nothing', async (field, value) => {
    const license = await meteredLicense(app);
    const r = await record(app, { licenseKey: license.key, meter: 'calls', amount: 1, idempotencyKey: 'k', [field]: value });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(r.data?.recordUsage ?? null).toBeNull();
    expect(await usedOf(license.id)).toBe(0);
  });

  it('an amount that is not a 32-bit integer with HTTP 400 at GraphQL validation, before any service runs', async () => {
    const license = await meteredLicense(app);
    const r = await record(app, { licenseKey: license.key, meter: 'calls', amount: 2 ** 40, idempotencyKey: 'k' });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.message).toMatch(/Int/);
  });

  it('a key this server never issued with NOT_FOUND, a meter the license lacks with MeterNotFound', async () => {
    const license = await meteredLicense(app);
    expect((await record(app, { licenseKey: 'lhk_not-a-key', meter: 'calls', amount: 1, idempotencyKey: 'k' })).data?.recordUsage).toMatchObject({
      __typename: 'LicenseNotFound',
      code: 'NOT_FOUND',
    });
    expect((await record(app, { licenseKey: license.key, meter: 'other', amount: 1, idempotencyKey: 'k' })).data?.recordUsage).toMatchObject({
      __typename: 'MeterNotFound',
      code: 'NOT_FOUND',
    });
  });

  it('usage on a suspended or revoked license, at once, and takes it again once reinstated', async () => {
    const license = await meteredLicense(app);
    const use = async (key: string) => (await record(app, { licenseKey: license.key, meter: 'calls', amount: 1, idempotencyKey: key })).data?.recordUsage;
    expect(await use('before')).toMatchObject({ __typename: 'UsageRecorded' });
    await admin(app, `mutation($id: ID!) { suspendLicense(input: { id: $id }) { __typename } }`, { id: license.id });
    expect(await use('suspended')).toMatchObject({ __typename: 'LicenseSuspended', code: 'SUSPENDED' });
    await admin(app, `mutation($id: ID!) { reinstateLicense(input: { id: $id }) { __typename } }`, { id: license.id });
    expect(await use('reinstated')).toMatchObject({ __typename: 'UsageRecorded' });
    await admin(app, `mutation($id: ID!) { revokeLicense(input: { id: $id }) { __typename } }`, { id: license.id });
    expect(await use('revoked')).toMatchObject({ __typename: 'LicenseRevoked', code: 'REVOKED' });
    expect(await usedOf(license.id)).toBe(2);
  });

  it("past the license's rate limit with RATE_LIMITED and HTTP 429, counting nothing", async () => {
    const license = await meteredLicense(limited, [{ name: 'calls', limit: 100, period: 'DAY' }]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await record(limited, { licenseKey: license.key, meter: 'calls', amount: 1, idempotencyKey: `k${i}` }));
    expect(answers.slice(0, 3).map((r) => r.data?.recordUsage.__typename)).toEqual(['UsageRecorded', 'UsageRecorded', 'UsageRecorded']);
    expect(answers[3]).toMatchObject({ status: 429, errors: [{ extensions: { code: 'RATE_LIMITED' } }] });
    const state = await admin(limited, `query($id: ID!) { license(id: $id) { meters { used } } }`, { id: license.id });
    expect(state.data?.license.meters).toEqual([{ used: 3 }]);
  });
});

describe('meter definitions refuse', () => {
  it.each([
    ['a limit of 0', [{ name: 'a', limit: 0, period: 'DAY' }]],
    ['a negative overage', [{ name: 'a', limit: 1, period: 'DAY', overage: -1 }]],
    ['a limit past 10^9', [{ name: 'a', limit: 1_000_000_001, period: 'DAY' }]],
    ['a name used twice', [{ name: 'a', limit: 1, period: 'DAY' }, { name: 'a', limit: 2, period: 'MONTH' }]],
    ['a name with a newline', [{ name: 'a\nb', limit: 1, period: 'DAY' }]],
    ['an empty name', [{ name: '', limit: 1, period: 'DAY' }]],
    ['21 meters', Array.from({ length: 21 }, (_, i) => ({ name: `m${i}`, limit: 1, period: 'DAY' }))],
  ])('%s with InvalidInput on meters, creating nothing', async (_case, meters) => {
    const r = await admin(app, CREATE, { input: { tier: 'pro', features: [], maxSeats: 1, meters } });
    expect(r.data?.createLicense).toMatchObject({ __typename: 'InvalidInput', field: 'meters' });
  });

  it('on updateLicense too, leaving the meters as they were', async () => {
    const license = await meteredLicense(app);
    const r = await admin(app, `mutation($input: UpdateLicenseInput!) { updateLicense(input: $input) { __typename ... on InvalidInput { field } } }`, {
      input: { id: license.id, meters: [{ name: 'calls', limit: -1, period: 'DAY' }] },
    });
    expect(r.data?.updateLicense).toEqual({ __typename: 'InvalidInput', field: 'meters' });
    const state = await admin(app, `query($id: ID!) { license(id: $id) { meters { name limit } } }`, { id: license.id });
    expect(state.data?.license.meters).toEqual([{ name: 'calls', limit: 5 }]);
  });
});
