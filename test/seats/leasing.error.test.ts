/** Leasing strategies refuse what they cannot hold: a missing or malformed user or process id, a bound below one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { admin, createLicense, gql, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename } }`;
/** The seat path answers bad input as BAD_USER_INPUT naming the field. */
const refusal = async (input: Record<string, unknown>) => {
  const r = await gql(app, ACQUIRE, { input });
  expect(r.status).toBeLessThan(500);
  return r.errors?.[0]?.extensions;
};

describe('leasing strategies', () => {
  it('asks for the id its strategy needs, and takes no seat', async () => {
    const perUser = await createLicense(app, { maxSeats: 1, leasingStrategy: 'PER_USER' });
    expect(await refusal({ licenseKey: perUser.key, fingerprint: 'm' })).toEqual({ code: 'BAD_USER_INPUT', field: 'userId' });
    const perProcess = await createLicense(app, { maxSeats: 1, leasingStrategy: 'PER_PROCESS' });
    expect(await refusal({ licenseKey: perProcess.key, fingerprint: 'm', userId: 'u' })).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'processId',
    });
    expect((await app.services.seats.count(perUser.id))?.used).toBe(0);
    expect((await app.services.seats.count(perProcess.id))?.used).toBe(0);
  });

  it.each([
    ['userId', ''],
    ['userId', 'x'.repeat(257)],
    ['userId', 'ann\u0000desktop'],
    ['processId', 'p\u00001'],
    ['fingerprint', 'box\u0000p1'],
  ])('refuses %s %j with BAD_USER_INPUT', async (field, value) => {
    const license = await createLicense(app, { maxSeats: 1, leasingStrategy: 'PER_PROCESS' });
    const input = { licenseKey: license.key, fingerprint: 'box', processId: 'p', [field]: value };
    // A NUL is refused at the door, which names the field by its path (input.userId); the rest by the seat path.
    expect(await refusal(input)).toMatchObject({ code: 'BAD_USER_INPUT', field: expect.stringMatching(new RegExp(`^(input\\.)?${field}$`)) });
    expect((await app.services.seats.count(license.id))?.used ?? 0).toBe(0);
  });

  it('refuses maxProcessesPerMachine below one', async () => {
    const result = await admin(
      app,
      `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { __typename ... on InvalidInput { field } } }`,
      { input: { tier: 'pro', features: [], maxSeats: 1, leasingStrategy: 'PER_PROCESS', maxProcessesPerMachine: 0 } },
    );
    expect(result.data?.createLicense).toEqual({ __typename: 'InvalidInput', field: 'maxProcessesPerMachine' });
  });
});
