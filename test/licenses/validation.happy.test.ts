/** validateLicense: each code from a case set up for exactly it, in the documented order, signed. */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { acquire, admin, createLicense, gql, startApp } from '../support/harness.ts';

let app: App;
let jwks: ReturnType<typeof createLocalJWKSet>;
beforeAll(async () => {
  app = await startApp();
  jwks = createLocalJWKSet(await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json());
});
afterAll(() => app.close());

const VALIDATE = `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) {
  valid code missingEntitlements license { id } signed { token } } }`;

async function validate(input: Record<string, unknown>) {
  const r = await gql(app, VALIDATE, { input });
  const v = r.data!.validateLicense;
  if (!v.signed) return { ...v, payload: null };
  const { payload } = await jwtVerify(v.signed.token, jwks, { issuer: 'leasehold', typ: 'license-validation+jwt', audience: v.license.id });
  expect(payload.code).toBe(v.code);
  return { ...v, payload };
}

const status = (mutation: string, id: string) =>
  admin(app, `mutation($input: LicenseStatusChangeInput!) { ${mutation}(input: $input) { __typename } }`, { input: { id } });

describe('validateLicense', () => {
  it('answers VALID with a signed verdict that echoes the nonce', async () => {
    const license = await createLicense(app, { maxSeats: 1, features: ['export'] });
    const v = await validate({ licenseKey: license.key, nonce: 'n-123', entitlements: ['export'] });
    expect(v).toMatchObject({ valid: true, code: 'VALID', license: { id: license.id } });
    expect(v.payload).toMatchObject({ nonce: 'n-123', sub: license.id, valid: true });
  });

  it('answers NOT_FOUND for a key it never issued, unsigned: nobody gets their nonce signed for a made-up key', async () => {
    const v = await validate({ licenseKey: 'lhk_' + '0'.repeat(33), nonce: 'x' });
    expect(v).toMatchObject({ valid: false, code: 'NOT_FOUND', license: null, signed: null });
  });

  it('answers REVOKED before SUSPENDED: revocation wins over a suspension that came first', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await status('suspendLicense', license.id);
    expect((await validate({ licenseKey: license.key })).code).toBe('SUSPENDED');
    await status('revokeLicense', license.id);
    expect((await validate({ licenseKey: license.key })).code).toBe('REVOKED');
  });

  it('answers EXPIRED for a license past its expiry', async () => {
    const license = await createLicense(app, { maxSeats: 1, expiresAt: new Date(Date.now() + 500).toISOString() });
    await new Promise((r) => setTimeout(r, 600));
    expect((await validate({ licenseKey: license.key })).code).toBe('EXPIRED');
  });

  it('answers SUSPENDED before EXPIRED', async () => {
    const license = await createLicense(app, { maxSeats: 1, expiresAt: new Date(Date.now() + 500).toISOString() });
    await status('suspendLicense', license.id);
    await new Promise((r) => setTimeout(r, 600));
    expect((await validate({ licenseKey: license.key })).code).toBe('SUSPENDED');
  });

  it('answers FINGERPRINT_NOT_ACTIVATED for a machine that never acquired, and VALID once it has', async () => {
    const license = await createLicense(app, { maxSeats: 1, maxMachines: 2 });
    expect((await validate({ licenseKey: license.key, fingerprint: 'fresh' })).code).toBe('FINGERPRINT_NOT_ACTIVATED');
    await acquire(app, license.key, 'fresh');
    const v = await validate({ licenseKey: license.key, fingerprint: 'fresh' });
    expect(v.code).toBe('VALID');
    expect(v.payload.fp).toBe('fresh');
  });

  it('answers TOO_MANY_MACHINES for a new machine once maxMachines are activated', async () => {
    const license = await createLicense(app, { maxSeats: 5, maxMachines: 1 });
    await acquire(app, license.key, 'first');
    expect((await validate({ licenseKey: license.key, fingerprint: 'second' })).code).toBe('TOO_MANY_MACHINES');
  });

  it('answers ENTITLEMENTS_MISSING naming what is missing', async () => {
    const license = await createLicense(app, { maxSeats: 1, features: ['export'] });
    const v = await validate({ licenseKey: license.key, entitlements: ['export', 'sso', 'audit'] });
    expect(v).toMatchObject({ valid: false, code: 'ENTITLEMENTS_MISSING', missingEntitlements: ['sso', 'audit'] });
  });
});

describe('license certificate', () => {
  it('is a signed JWS of the license that verifies against the JWKS and fails when altered', async () => {
    const license = await createLicense(app, { maxSeats: 4, maxMachines: 2, features: ['a', 'b'], expiresAt: '2030-01-01T00:00:00.000Z' });
    await acquire(app, license.key, 'offline-1');
    const r = await admin(app, `query($id: ID!) { license(id: $id) { certificate(fingerprint: "offline-1") { token keyId } } }`, {
      id: license.id,
    });
    const token: string = r.data!.license.certificate.token;
    const { payload } = await jwtVerify(token, jwks, { issuer: 'leasehold', typ: 'license-certificate+jwt', audience: license.id });
    expect(payload).toMatchObject({ sub: license.id, fp: 'offline-1', tier: 'pro', features: ['a', 'b'], maxSeats: 4, maxMachines: 2, lexp: 1893456000 });
    expect(payload.exp! - payload.iat!).toBe(7 * 86_400);

    const [header, body, signature] = token.split('.');
    const altered = Buffer.from(body!, 'base64url').toString().replace('"maxSeats":4', '"maxSeats":5');
    await expect(jwtVerify(`${header}.${Buffer.from(altered).toString('base64url')}.${signature}`, jwks)).rejects.toThrow(/signature/);
  });
});
