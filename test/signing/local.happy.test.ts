/**
 * The local signer: an Ed25519 key made in the data directory, or a key given as SIGNING_KEY_PEM
 * (Ed25519 or P-256, as older data directories hold). Tokens are checked by jose and,
 * independently, by the openssl command line. (Bun and Deno sign through
 * test/platform/runtimes.happy.test.ts.)
 */
import { createPublicKey, generateKeyPairSync, verify as nodeVerify, type JsonWebKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/runtime/files.ts';
import { createLocalSigner } from '../../src/services/signing/local.ts';
import { DocumentType, signToken, type Signer } from '../../src/lib/jws.ts';
import { opensslVerifies } from '../support/openssl.ts';

const claims = () => ({ iss: 'leasehold', sub: 'ses_local', fp: 'laptop-é', exp: Math.floor(Date.now() / 1000) + 300 });

const publicKeyPem = (jwk: JWK) =>
  createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'leasehold-local-signer-'));
});
afterAll(() => rm(workDir, { recursive: true, force: true }));

describe('the local signer', () => {
  let signer: Signer;
  let token: string;
  beforeAll(async () => {
    signer = await createLocalSigner({ files: createFileStore(join(workDir, 'generated')) });
    token = (await signToken(signer, DocumentType.lease, claims())).token;
  });

  it('signs tokens that jose verifies against the published JWKS, with EdDSA and the key thumbprint as kid', async () => {
    const jwks = await signer.publicJwks();
    expect(jwks).toEqual([expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', kid: signer.keyId, alg: 'EdDSA', use: 'sig' })]);
    expect(jwks[0]).not.toHaveProperty('d');
    expect(signer.keyId).toBe(await calculateJwkThumbprint(jwks[0]!));
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: jwks }), {
      issuer: 'leasehold',
      algorithms: ['EdDSA'],
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: signer.keyId, typ: 'lease+jwt' });
    expect(payload).toEqual(claims());
  });

  it('signs tokens that openssl, knowing nothing of JOSE, also accepts', async () => {
    const [jwk] = await signer.publicJwks();
    expect(await opensslVerifies(token, publicKeyPem(jwk!), 'EdDSA')).toBe(true);
  });

  it('returns the 64-byte Ed25519 signature, over exactly the bytes it was given', async () => {
    const [jwk] = await signer.publicJwks();
    const input = new TextEncoder().encode('header.payload');
    const signature = await signer.sign(input);
    expect(signature).toHaveLength(64);
    expect(nodeVerify(null, input, publicKeyPem(jwk!), signature)).toBe(true);
    expect(nodeVerify(null, new TextEncoder().encode('header.payloaD'), publicKeyPem(jwk!), signature)).toBe(false);
  });

  it('signs each of many concurrent tokens over its own claims', async () => {
    const jwks = createLocalJWKSet({ keys: await signer.publicJwks() });
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => signToken(signer, DocumentType.lease, { ...claims(), sub: `ses_${i}` })));
    const subjects = await Promise.all(tokens.map(async ({ token }) => (await jwtVerify(token, jwks)).payload.sub));
    expect(subjects).toEqual(Array.from({ length: 50 }, (_, i) => `ses_${i}`));
  });

  it('rejects a token with its payload swapped for another one', async () => {
    const other = (await signToken(signer, DocumentType.lease, { ...claims(), sub: 'ses_other' })).token;
    const forged = [token.split('.')[0], other.split('.')[1], token.split('.')[2]].join('.');
    await expect(jwtVerify(forged, createLocalJWKSet({ keys: await signer.publicJwks() }))).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });
});

describe('the local signing key', () => {
  it('is created in the data directory once and signs with the same kid after a restart', async () => {
    const files = createFileStore(join(workDir, 'restart'));
    const first = await createLocalSigner({ files });
    const { token } = await signToken(first, DocumentType.lease, claims());
    expect(await files.read('signing-key.pem')).toContain('BEGIN PRIVATE KEY');

    const restarted = await createLocalSigner({ files });
    expect(restarted.keyId).toBe(first.keyId);
    await expect(jwtVerify(token, createLocalJWKSet({ keys: await restarted.publicJwks() }))).resolves.toBeTruthy();
  });

  it('is the one given as PEM when there is one, and no key file is written', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const files = createFileStore(join(workDir, 'given'));
    const signer = await createLocalSigner({ pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, files });
    const { token } = await signToken(signer, DocumentType.lease, claims());
    expect(await opensslVerifies(token, publicKey.export({ type: 'spki', format: 'pem' }) as string, 'EdDSA')).toBe(true);
    expect(await files.read('signing-key.pem')).toBeUndefined();
  });

  it('signs ES256 with a P-256 key, as a data directory made before Ed25519 holds, in the r‖s form JWS wants', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const files = createFileStore(join(workDir, 'p256'));
    await files.writeSecret('signing-key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const signer = await createLocalSigner({ files });
    const { token } = await signToken(signer, DocumentType.lease, claims());
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(await signer.publicJwks()).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256' })]);
    expect((await jwtVerify(token, createLocalJWKSet({ keys: await signer.publicJwks() }), { algorithms: ['ES256'] })).payload).toEqual(
      claims(),
    );
    expect(await opensslVerifies(token, publicPem, 'ES256')).toBe(true);
    const signature = await signer.sign(new TextEncoder().encode('header.payload'));
    expect(signature).toHaveLength(64);
    expect(nodeVerify('sha256', new TextEncoder().encode('header.payload'), { key: publicPem, dsaEncoding: 'ieee-p1363' }, signature)).toBe(
      true,
    );
  });

  it('refuses any other key at start, naming where it came from', async () => {
    const files = createFileStore(join(workDir, 'rsa'));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await expect(createLocalSigner({ pem: rsa, files })).rejects.toThrow(/SIGNING_KEY_PEM .*must be an Ed25519 or P-256 private key/);
    await expect(createLocalSigner({ pem: 'not a key', files })).rejects.toThrow(/SIGNING_KEY_PEM/);
  });
});
