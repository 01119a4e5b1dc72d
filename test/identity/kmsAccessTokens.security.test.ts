/**
 * With SIGNER=kms, dashboard access tokens are signed by the KMS signer too (the real
 * @google-cloud/kms client against the fake KMS) and verified against the published keys: no
 * access-token key exists outside KMS, instances share nothing but the KMS configuration, a key
 * rotation keeps tokens of a still-listed version valid, and nothing else the same key signs (a
 * lease, or any document not typed at+jwt) passes for an access token.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { DocumentType, signToken } from '../../src/lib/jws.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { startFakeKms, type FakeKms } from '../support/fakeKms.ts';
import { acquire, configRefusal, gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const version = (n: number) => `projects/leasehold-test/locations/global/keyRings/leasehold/cryptoKeys/leases/cryptoKeyVersions/${n}`;
const V1 = version(1);
const V2 = version(2);
const VIEWER = `{ viewer { kind userId organizationId } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { __typename ... on SignedIn { accessToken } } }`;

let fake: FakeKms;
let dataDir: string;
const apps: App[] = [];
let first: App;
let second: App;
let owner: Awaited<ReturnType<typeof seedOrganization>>;

const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;
const header = (token: string) => decodeProtectedHeader(token);

async function kmsApp(keyVersions: string[], dir?: string) {
  const app = await startApp(
    { SIGNER: 'kms', KMS_KEY_VERSION: keyVersions.join(','), KMS_ENDPOINT: fake.endpoint },
    dir ? { files: createFileStore(dir) } : {},
  );
  apps.push(app);
  return app;
}

beforeAll(async () => {
  fake = await startFakeKms([
    { name: V1, algorithm: 'EC_SIGN_P256_SHA256' },
    { name: V2, algorithm: 'EC_SIGN_P256_SHA256' },
  ]);
  dataDir = await mkdtemp(join(tmpdir(), 'leasehold-kms-access-'));
  first = await kmsApp([V1], dataDir);
  second = await kmsApp([V1]);
  const signs = fake.signCount;
  owner = await seedOrganization(first);
  expect(fake.signCount).toBe(signs + 1);
});
afterAll(async () => {
  // The organization lives in `first`'s list; the others close first.
  for (const app of apps.reverse()) await app.close();
  await fake?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('access tokens signed through Cloud KMS', () => {
  it('are signed by the KMS key, typed at+jwt, and verify with jose against the published JWKS', async () => {
    expect(header(owner.token)).toEqual({ alg: 'ES256', kid: first.services.signer.keyId, typ: 'at+jwt' });
    const jwks = createLocalJWKSet(await (await first.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json());
    const { payload } = await jwtVerify(owner.token, jwks, {
      issuer: 'leasehold',
      audience: 'leasehold-api',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({ sub: owner.userId, org: owner.orgId });
    // No access-token key was made: KMS holds the only one.
    expect(await readdir(dataDir)).not.toContain('access-token-key.pem');
  });

  it('work on every instance with the same KMS configuration, no shared key file needed', async () => {
    expect((await gql(second, VIEWER, {}, owner.token)).data?.viewer).toMatchObject({ kind: 'user', userId: owner.userId });
    const login = await gql(second, LOGIN, { input: { email: owner.email, password: owner.password } });
    const token = login.data?.login.accessToken as string;
    expect((await gql(first, VIEWER, {}, token)).data?.viewer.userId).toBe(owner.userId);
  });

  it('refuse a lease, and any document the key signed that is not typed at+jwt, presented as an access token', async () => {
    const license = await createLicenseAs(first, owner.token);
    const granted = await acquire(first, license.key, 'machine-1');
    expect(header(granted.lease.token).kid).toBe(header(owner.token).kid);
    expect(code(await gql(first, VIEWER, {}, granted.lease.token))).toBe('UNAUTHENTICATED');

    const claims = JSON.parse(Buffer.from(owner.token.split('.')[1]!, 'base64url').toString());
    for (const type of [DocumentType.lease, DocumentType.certificate, DocumentType.validation]) {
      const { token } = await signToken(first.services.signer, type, claims);
      expect(code(await gql(first, VIEWER, {}, token)), type).toBe('UNAUTHENTICATED');
    }
    // The same claims typed at+jwt pass: the refusals above are for the type.
    const { token } = await signToken(first.services.signer, DocumentType.accessToken, claims);
    expect((await gql(first, VIEWER, {}, token)).data?.viewer.userId).toBe(owner.userId);
    // The type a local key's tokens carried before is not taken from the key that signs leases.
    const legacy = await signToken(first.services.signer, 'JWT' as DocumentType, claims);
    expect(code(await gql(first, VIEWER, {}, legacy.token))).toBe('UNAUTHENTICATED');
  });

  it('refuse a token of a key that is not published, even with every claim right', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const claims = JSON.parse(Buffer.from(owner.token.split('.')[1]!, 'base64url').toString());
    for (const kid of [header(owner.token).kid, 'another']) {
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
      expect(code(await gql(first, VIEWER, {}, forged))).toBe('UNAUTHENTICATED');
    }
  });

  it('keep working across a KMS key rotation while their version is listed, and stop when it is dropped', async () => {
    const rotated = await kmsApp([V2, V1]);
    expect((await gql(rotated, VIEWER, {}, owner.token)).data?.viewer.userId).toBe(owner.userId);
    const login = await gql(rotated, LOGIN, { input: { email: owner.email, password: owner.password } });
    const newer = login.data?.login.accessToken as string;
    expect(header(newer).kid).toBe(rotated.services.signer.keyId);
    expect(header(newer).kid).not.toBe(header(owner.token).kid);
    // An instance not yet rotated still holds V1 only: what V2 signed is not yet trusted there.
    expect(code(await gql(first, VIEWER, {}, newer))).toBe('UNAUTHENTICATED');

    const retired = await kmsApp([V2]);
    expect((await gql(retired, VIEWER, {}, newer)).data?.viewer.userId).toBe(owner.userId);
    expect(code(await gql(retired, VIEWER, {}, owner.token))).toBe('UNAUTHENTICATED');
  });

  it('answer SERVICE_UNAVAILABLE to a sign-in while KMS cannot sign', async () => {
    fake.setFault('unavailable');
    try {
      const login = await gql(first, LOGIN, { input: { email: owner.email, password: owner.password } });
      expect(code(login)).toBe('SERVICE_UNAVAILABLE');
    } finally {
      fake.setFault('none');
    }
    expect((await gql(first, LOGIN, { input: { email: owner.email, password: owner.password } })).data?.login.__typename).toBe('SignedIn');
  }, 30_000);

  it('need no ACCESS_TOKEN_KEY_PEM in production', () => {
    const production = {
      DATABASE_URL: 'postgres://db.internal/leasehold',
      NODE_ENV: 'production',
      LEASEHOLD_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
      LICENSE_KEY_SECRET: 'license-key-secret-0123456789',
      WEBHOOK_SECRET_KEY: 'dGVzdC13ZWJob29rLXNlY3JldC1rZXktMzItYnl0ZXM=',
    };
    expect(configRefusal({ ...production, SIGNER: 'kms', KMS_KEY_VERSION: V1 })).toBeUndefined();
    expect(configRefusal({ ...production, SIGNING_KEY_PEM: 'x' })?.message).toContain('ACCESS_TOKEN_KEY_PEM');
  });
});
