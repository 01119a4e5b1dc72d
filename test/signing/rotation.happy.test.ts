/**
 * Replacing the local signing key without breaking what is out there: instances publish the
 * next key before it signs and the replaced one until what it signed expires, so every lease
 * and certificate verifies against every instance's JWKS through a rolling rotation.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { createLocalSigner, PUBLISHED_KEYS_FILE } from '../../src/services/signing/local.ts';
import { acquire, createLicense, heartbeat, startApp } from '../support/harness.ts';

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const [oldKey, newKey] = [keyPair(), keyPair()];

// The three steps of a rotation, as three instances on one database.
let before: App; // signs with the old key, publishes the new one
let after: App; // signs with the new key, publishes the old one
let done: App; // the new key alone, once the old one's documents have expired
beforeAll(async () => {
  before = await startApp({ SIGNING_KEY_PEM: oldKey.privatePem, SIGNING_KEYS_PUBLISHED: newKey.publicPem });
  after = await startApp({ SIGNING_KEY_PEM: newKey.privatePem, SIGNING_KEYS_PUBLISHED: oldKey.publicPem });
  done = await startApp({ SIGNING_KEY_PEM: newKey.privatePem });
});
afterAll(async () => {
  await Promise.all([before.close(), after.close(), done.close()]);
});

const jwksOf = async (app: App) => (await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json()) as { keys: { kid: string }[] };
const verifies = async (token: string, app: App) =>
  jwtVerify(token, createLocalJWKSet(await jwksOf(app)), { issuer: 'leasehold', typ: 'lease+jwt' }).then(
    () => true,
    () => false,
  );

describe('a rolling rotation of the local signing key', () => {
  it('verifies leases of either key against the JWKS of every instance that is part of it', async () => {
    const license = await createLicense(before, { maxSeats: 1 });
    const granted = await acquire(before, license.key, 'rotating');
    const renewed = await heartbeat(after, license.key, granted.session.id);
    const [oldLease, newLease] = [granted.lease.token as string, renewed.lease.token as string];
    expect(decodeProtectedHeader(oldLease).kid).not.toBe(decodeProtectedHeader(newLease).kid);

    for (const app of [before, after]) {
      expect(await verifies(oldLease, app)).toBe(true);
      expect(await verifies(newLease, app)).toBe(true);
    }
    // Once the old key is dropped, only what the new one signed verifies.
    expect(await verifies(newLease, done)).toBe(true);
    expect(await verifies(oldLease, done)).toBe(false);
  });

  it('publishes each key once with its thumbprint as kid, and never signs with a published one', async () => {
    const kids = (await jwksOf(after)).keys.map((k) => k.kid);
    expect(kids).toHaveLength(2);
    expect(kids[0]).toBe(after.services.signer.keyId);
    expect(new Set(kids).size).toBe(2);
  });

  it("reads the data directory's published keys when the environment names none, and refuses one that is not a key", async () => {
    const files = createFileStore(await mkdtemp(join(tmpdir(), 'leasehold-rotation-')));
    await files.writeSecret(PUBLISHED_KEYS_FILE, `${oldKey.publicPem}\n${newKey.publicPem}`);
    const signer = await createLocalSigner({ files });
    expect(await signer.publicJwks()).toHaveLength(3);
    await expect(
      createLocalSigner({ files, publishedPem: '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----' }),
    ).rejects.toThrow(/SIGNING_KEYS_PUBLISHED/);
  });
});
