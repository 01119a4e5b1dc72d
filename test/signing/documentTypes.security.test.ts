/**
 * One key signs leases, certificates and validation answers, so each names its kind in the JWS
 * header `typ` and the license it is for in `aud`: with the checks the README documents
 * (issuer, audience, typ), jose refuses every document presented as another kind or for another
 * license. Anonymous validation signs only bounded input, and nothing for an unknown key.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { acquire, admin, createLicense, gql, startApp, type LicenseFixture } from '../support/harness.ts';

let app: App;
let jwks: ReturnType<typeof createLocalJWKSet>;
let license: LicenseFixture;
let other: LicenseFixture;
const documents: Record<string, string> = {};

const KINDS = { lease: 'lease+jwt', certificate: 'license-certificate+jwt', validation: 'license-validation+jwt' } as const;
type Kind = keyof typeof KINDS;

const VALIDATE = `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { code signed { token } } }`;

/** The documented checks of a verifier that expects `kind` for `licenseId`. */
const verifyAs = (token: string, kind: Kind, licenseId: string) =>
  jwtVerify(token, jwks, { issuer: 'leasehold', audience: licenseId, typ: KINDS[kind], algorithms: ['EdDSA', 'ES256', 'RS256'] });

beforeAll(async () => {
  app = await startApp();
  jwks = createLocalJWKSet(await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json());
  license = await createLicense(app, { maxSeats: 2, maxMachines: 2 });
  other = await createLicense(app, { maxSeats: 2 });
  const granted = await acquire(app, license.key, 'machine-1');
  documents.lease = granted.lease.token;
  const certificate = await admin(app, `query($id: ID!) { license(id: $id) { certificate(fingerprint: "machine-1") { token } } }`, {
    id: license.id,
  });
  documents.certificate = certificate.data!.license.certificate.token;
  const validation = await gql(app, VALIDATE, { input: { licenseKey: license.key, fingerprint: 'machine-1', nonce: 'n-1' } });
  documents.validation = validation.data!.validateLicense.signed.token;
});
afterAll(() => app.close());

describe('signed documents', () => {
  it.each(Object.entries(KINDS))('a %s names its kind in the typ header and its license as audience', async (kind, typ) => {
    const token = documents[kind]!;
    expect(decodeProtectedHeader(token).typ).toBe(typ);
    const { payload } = await verifyAs(token, kind as Kind, license.id);
    expect(payload.aud).toBe(license.id);
    expect(payload).not.toHaveProperty('typ');
  });

  const pairings = (Object.keys(KINDS) as Kind[]).flatMap((issued) =>
    (Object.keys(KINDS) as Kind[]).filter((expected) => expected !== issued).map((expected) => [issued, expected] as const),
  );
  it.each(pairings)('a %s presented as a %s is refused', async (issued, expected) => {
    await expect(verifyAs(documents[issued]!, expected, license.id)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'typ',
    });
  });

  it.each(Object.keys(KINDS) as Kind[])('a %s of one license presented for another license is refused', async (kind) => {
    await expect(verifyAs(documents[kind]!, kind, other.id)).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
  });
});

describe('anonymous validation signs only what is bounded', () => {
  it('signs nothing for a key this server never issued', async () => {
    const r = await gql(app, VALIDATE, { input: { licenseKey: 'lhk_' + 'A'.repeat(33), nonce: 'n', fingerprint: 'f' } });
    expect(r.data!.validateLicense).toEqual({ code: 'NOT_FOUND', signed: null });
  });

  it.each([
    ['fingerprint', { fingerprint: 'f'.repeat(257) }],
    ['fingerprint', { fingerprint: '' }],
    ['nonce', { nonce: 'n'.repeat(129) }],
    ['nonce', { nonce: '' }],
    ['entitlements', { entitlements: Array.from({ length: 201 }, (_, i) => `e${i}`) }],
  ])('refuses an out-of-bounds %s with BAD_USER_INPUT naming it, signing nothing', async (field, input) => {
    const r = await gql(app, VALIDATE, { input: { licenseKey: license.key, ...input } });
    expect(r.data?.validateLicense ?? null).toBeNull();
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('signs a nonce and fingerprint at their maximum length', async () => {
    const r = await gql(app, VALIDATE, { input: { licenseKey: license.key, nonce: 'n'.repeat(128), fingerprint: 'f'.repeat(256) } });
    const { payload } = await verifyAs(r.data!.validateLicense.signed.token, 'validation', license.id);
    expect(payload).toMatchObject({ nonce: 'n'.repeat(128), fp: 'f'.repeat(256) });
  });
});
