/** The seat path with Cloud KMS signing (through the fake KMS server): verifiable leases, nothing held on a KMS failure. */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { createKmsSigner } from '../../src/services/signing/kms.ts';
import type { Signer } from '../../src/lib/jws.ts';
import { startFakeKms, type FakeKms } from '../support/fakeKms.ts';
import { acquire, admin, createLicense, heartbeat, startApp } from '../support/harness.ts';
import { opensslVerifies } from '../support/openssl.ts';

const KEY = 'projects/p/locations/global/keyRings/leasehold/cryptoKeys/leases/cryptoKeyVersions/1';
let fake: FakeKms;
let signer: Signer;
let app: App;

beforeAll(async () => {
  fake = await startFakeKms([{ name: KEY, algorithm: 'RSA_SIGN_PKCS1_2048_SHA256' }]);
  signer = await createKmsSigner({ keyVersions: [KEY], endpoint: fake.endpoint, deadlineMs: 1000 });
  app = await startApp({}, { signer });
});
afterAll(async () => {
  await app.close();
  await signer.close();
  await fake.close();
});

describe('seats signed by Cloud KMS', () => {
  it('issues leases and certificates that verify with jose against the JWKS and with openssl against the PEM', async () => {
    const jwks = createLocalJWKSet(await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json());
    const license = await createLicense(app, { maxSeats: 1 });
    const granted = await acquire(app, license.key, 'kms-machine');
    expect(granted.lease.algorithm).toBe('RS256');
    const { payload } = await jwtVerify(granted.lease.token, jwks, { issuer: 'leasehold' });
    expect(payload.sub).toBe(granted.session.id);
    expect(await opensslVerifies(granted.lease.token, fake.publicKeyPem(KEY), 'RS256')).toBe(true);

    const certificate = (
      await admin(app, `query($id: ID!) { license(id: $id) { certificate(fingerprint: "kms-machine") { token } } }`, { id: license.id })
    ).data!.license.certificate.token;
    await jwtVerify(certificate, jwks, { issuer: 'leasehold' });
    expect(await opensslVerifies(certificate, fake.publicKeyPem(KEY), 'RS256')).toBe(true);
  });

  it('answers SERVICE_UNAVAILABLE and holds no seat while KMS is down, and recovers after', async () => {
    const license = await createLicense(app, { maxSeats: 2, maxMachines: 2 });
    const held = await acquire(app, license.key, 'before');
    fake.setFault('unavailable');
    try {
      const failed = await acquire(app, license.key, 'during');
      expect(failed.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect((await heartbeat(app, license.key, held.session.id)).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      fake.setFault('none');
    }
    expect((await app.services.seats.count(license.id))?.used).toBe(1);
    // Had the failed acquire kept its machine, this would be a third one over maxMachines 2.
    expect((await acquire(app, license.key, 'after')).__typename).toBe('SeatGranted');
  });

  it.each([
    ['an answer whose CRC32C does not match', 'bad-signature-crc'],
    ['a signature that does not verify against the published key', 'wrong-signature'],
  ] as const)('refuses %s, without keeping the seat', async (_answer, fault) => {
    const license = await createLicense(app, { maxSeats: 1 });
    fake.setFault(fault);
    try {
      expect((await acquire(app, license.key, fault)).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      fake.setFault('none');
    }
    expect((await app.services.seats.count(license.id))?.used).toBe(0);
  });
});
