/**
 * Offline certificates cannot outnumber the license's machines: each is bound to one
 * fingerprint (`fp`) and issued only to a machine of the license, activated on request under
 * maxMachines in the same atomic step as a seat's machine, so one key cannot mint certificates
 * for any number of machines. A key holder cannot reach the admin's certificate field either.
 */
import { count, eq } from 'drizzle-orm';
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { machines } from '../../src/db/schema.ts';
import { acquire, admin, createLicense, gql, startApp } from '../support/harness.ts';

const REQUEST = `mutation($input: RequestCertificateInput!) { requestCertificate(input: $input) {
  __typename ... on CertificateIssued { certificate { token } } ... on TooManyMachines { maxMachines } ... on Error { code } } }`;

let app: App;
let jwks: JWTVerifyGetKey;
beforeAll(async () => {
  app = await startApp();
  jwks = createLocalJWKSet(await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json());
});
afterAll(() => app.close());

const request = async (licenseKey: string, fingerprint: string) =>
  (await gql(app, REQUEST, { input: { licenseKey, fingerprint } })).data?.requestCertificate;
const machinesOf = async (licenseId: string) =>
  (await app.services.db.select({ n: count() }).from(machines).where(eq(machines.licenseId, licenseId)))[0]!.n;

describe('requestCertificate', () => {
  it('issues a certificate bound to the machine, activating it under maxMachines', async () => {
    const license = await createLicense(app, { maxSeats: 1, maxMachines: 2 });
    const issued = await request(license.key, 'laptop');
    expect(issued.__typename).toBe('CertificateIssued');
    const { payload } = await jwtVerify(issued.certificate.token, jwks, {
      issuer: 'leasehold',
      typ: 'license-certificate+jwt',
      audience: license.id,
    });
    expect(payload).toMatchObject({ sub: license.id, fp: 'laptop', maxMachines: 2 });
    expect(await machinesOf(license.id)).toBe(1);
    // Asking again for the same machine activates nothing new.
    expect((await request(license.key, 'laptop')).__typename).toBe('CertificateIssued');
    expect(await machinesOf(license.id)).toBe(1);
  });

  it('refuses a machine past maxMachines, counting machines that took seats and machines that asked for certificates alike', async () => {
    const license = await createLicense(app, { maxSeats: 3, maxMachines: 2 });
    expect((await acquire(app, license.key, 'online')).__typename).toBe('SeatGranted');
    expect((await request(license.key, 'offline')).__typename).toBe('CertificateIssued');
    expect(await request(license.key, 'third')).toEqual({ __typename: 'TooManyMachines', maxMachines: 2, code: 'TOO_MANY_MACHINES' });
    expect(await acquire(app, license.key, 'third')).toMatchObject({ __typename: 'TooManyMachines' });
    // A machine with a seat gets its certificate.
    expect((await request(license.key, 'online')).__typename).toBe('CertificateIssued');
  });

  it('issues certificates to exactly maxMachines of 200 machines asking at once', async () => {
    const license = await createLicense(app, { maxSeats: 1, maxMachines: 10 });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => request(license.key, `fleet-${i}`)));
    expect(answers.filter((a) => a.__typename === 'CertificateIssued')).toHaveLength(10);
    expect(answers.filter((a) => a.__typename === 'TooManyMachines')).toHaveLength(190);
    expect(await machinesOf(license.id)).toBe(10);
  });

  it('answers the license errors, and refuses a fingerprint out of bounds', async () => {
    expect(await request('LH-AAAA-BBBB-CCCC-DDDD', 'm')).toMatchObject({ code: expect.stringMatching(/NOT_FOUND/) });
    const license = await createLicense(app, { maxSeats: 1 });
    await admin(app, `mutation($id: ID!) { suspendLicense(input: { id: $id }) { __typename } }`, { id: license.id });
    expect(await request(license.key, 'm')).toMatchObject({ __typename: 'LicenseSuspended' });
    const long = await gql(app, REQUEST, { input: { licenseKey: license.key, fingerprint: 'x'.repeat(257) } });
    expect(long.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await machinesOf(license.id)).toBe(0);
  });
});

describe("the admin's License.certificate", () => {
  it('is null for a fingerprint that is not a machine of the license', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const r = await admin(app, `query($id: ID!) { license(id: $id) { certificate(fingerprint: "stranger") { token } } }`, { id: license.id });
    expect(r.data?.license.certificate).toBeNull();
  });

  it('cannot be reached by a key holder through validateLicense', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await acquire(app, license.key, 'holder');
    const r = await gql(
      app,
      `mutation($key: String!) { validateLicense(input: { licenseKey: $key }) { license { certificate(fingerprint: "holder") { token } } } }`,
      { key: license.key },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(r.data ?? {})).not.toContain('eyJ');
  });
});
