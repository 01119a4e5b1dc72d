/**
 * The Cloud KMS signer, driven through the real `@google-cloud/kms` client against an in-process
 * fake KMS. Tokens are checked by jose and, independently, by the openssl command line.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import crc32c from 'crc-32/crc32c';
import { GoogleAuth, googleAuthLibrary, grpc } from 'google-gax';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKmsSigner, derToRawEcdsa } from '../../src/services/signing/kms.ts';
import { DocumentType, SignerUnavailableError, signToken, type Signer } from '../../src/lib/jws.ts';
import { startFakeKms, type FakeKms } from '../support/fakeKms.ts';
import { opensslVerifies } from '../support/openssl.ts';

const version = (key: string, n = 1) =>
  `projects/leasehold-test/locations/global/keyRings/leasehold/cryptoKeys/${key}/cryptoKeyVersions/${n}`;

const RSA_4096 = version('rsa-4096');
const RSA_2048 = version('rsa-2048');
const P256 = version('p256');
const ROTATING_OLD = version('rotating', 1);
const ROTATING_NEW = version('rotating', 2);
const PSS = version('pss');
const SYMMETRIC = version('secrets');

const claims = () => ({ iss: 'leasehold', sub: 'license-123', seat: 'laptop', exp: Math.floor(Date.now() / 1000) + 300 });

let fake: FakeKms;
let workDir: string;
const signers: Signer[] = [];
async function signerFor(keyVersions: string[], deadlineMs?: number, endpoint = fake.endpoint) {
  const signer = await createKmsSigner({ keyVersions, endpoint, deadlineMs });
  signers.push(signer);
  return signer;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'leasehold-kms-'));
  fake = await startFakeKms([
    { name: RSA_4096, algorithm: 'RSA_SIGN_PKCS1_4096_SHA256' },
    { name: RSA_2048, algorithm: 'RSA_SIGN_PKCS1_2048_SHA256' },
    { name: P256, algorithm: 'EC_SIGN_P256_SHA256' },
    { name: ROTATING_OLD, algorithm: 'EC_SIGN_P256_SHA256' },
    { name: ROTATING_NEW, algorithm: 'EC_SIGN_P256_SHA256' },
    { name: PSS, algorithm: 'RSA_SIGN_PSS_2048_SHA256' },
    { name: SYMMETRIC, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
  ]);
});

afterEach(() => fake.setFault('none'));

afterAll(async () => {
  await Promise.all(signers.map((s) => s.close()));
  await fake?.close();
  await rm(workDir, { recursive: true, force: true });
});

function withPayloadByteChanged(token: string): string {
  const [header, payload, signature] = token.split('.');
  const bytes = Buffer.from(payload!, 'base64url');
  // A letter inside a string value: the JSON stays valid, so only the signature can object.
  const at = bytes.indexOf('license-123') + 2;
  bytes[at] = bytes[at]! ^ 0x01;
  return `${header}.${bytes.toString('base64url')}.${signature}`;
}

describe.each([
  { label: 'RSA-4096 (RS256)', name: RSA_4096, alg: 'RS256', signatureBytes: 512 },
  { label: 'RSA-2048 (RS256)', name: RSA_2048, alg: 'RS256', signatureBytes: 256 },
  { label: 'P-256 (ES256)', name: P256, alg: 'ES256', signatureBytes: 64 },
])('a KMS $label key', ({ name, alg, signatureBytes }) => {
  let signer: Signer;
  let token: string;
  beforeAll(async () => {
    signer = await signerFor([name]);
    token = (await signToken(signer, DocumentType.lease, claims())).token;
  });

  it('signs lease tokens that jose verifies against the published JWKS', async () => {
    const jwks = await signer.publicJwks();
    expect(jwks).toEqual([expect.objectContaining({ kid: signer.keyId, alg, use: 'sig' })]);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: jwks }), { issuer: 'leasehold' });
    expect(protectedHeader).toEqual({ alg, kid: signer.keyId, typ: 'lease+jwt' });
    expect(payload).toMatchObject({ sub: 'license-123', seat: 'laptop' });
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(signatureBytes);
  });

  it('signs tokens that openssl, knowing nothing of JOSE, also accepts', async () => {
    expect(await opensslVerifies(token, fake.publicKeyPem(name), alg)).toBe(true);
  });

  it('produces a standard signature over the signing input, as node:crypto checks it', async () => {
    const input = new TextEncoder().encode('header.payload');
    const signature = await signer.sign(input);
    const key = { key: fake.publicKeyPem(name), dsaEncoding: 'ieee-p1363' as const };
    expect(nodeVerify('sha256', input, key, signature)).toBe(true);
    expect(nodeVerify('sha256', new TextEncoder().encode('header.payloaD'), key, signature)).toBe(false);
  });

  it('publishes the same public key KMS holds', async () => {
    const [jwk] = await signer.publicJwks();
    const fromKms = createPublicKey(fake.publicKeyPem(name)).export({ format: 'jwk' });
    expect(jwk).toMatchObject(fromKms as JWK);
  });

  it('rejects a token with one payload byte changed, and so does openssl', async () => {
    const tampered = withPayloadByteChanged(token);
    await expect(jwtVerify(tampered, createLocalJWKSet({ keys: await signer.publicJwks() }))).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    expect(await opensslVerifies(tampered, fake.publicKeyPem(name), alg)).toBe(false);
  });
});

describe('a KMS answer the signer cannot vouch for', () => {
  let signer: Signer;
  beforeAll(async () => {
    signer = await signerFor([P256], 800);
  });

  it('is refused when the signature fails its CRC32C, although KMS did sign', async () => {
    fake.setFault('bad-signature-crc');
    const before = fake.signCount;
    const error = await signToken(signer, DocumentType.lease, claims()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignerUnavailableError);
    expect((error as Error).message).toMatch(/checksum/);
    expect(fake.signCount).toBe(before + 1);
  });

  it('is refused when KMS does not confirm it verified the digest checksum', async () => {
    fake.setFault('unverified-digest');
    await expect(signToken(signer, DocumentType.lease, claims())).rejects.toBeInstanceOf(SignerUnavailableError);
  });

  it('is refused when KMS is unavailable, within the configured deadline', async () => {
    fake.setFault('unavailable');
    const started = performance.now();
    const error = await signer.sign(new TextEncoder().encode('a.b')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignerUnavailableError);
    expect((error as SignerUnavailableError).cause).toMatchObject({ message: expect.stringMatching(/UNAVAILABLE/) });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('signs again as soon as KMS answers properly', async () => {
    const { token } = await signToken(signer, DocumentType.lease, claims());
    await expect(jwtVerify(token, createLocalJWKSet({ keys: await signer.publicJwks() }))).resolves.toBeTruthy();
  });
});

describe('a KMS that goes away', () => {
  it('makes signing fail with SignerUnavailableError rather than hang', async () => {
    const own = await startFakeKms([{ name: P256, algorithm: 'EC_SIGN_P256_SHA256' }]);
    const signer = await signerFor([P256], 800, own.endpoint);
    await signToken(signer, DocumentType.lease, claims());
    await own.close();
    const started = performance.now();
    await expect(signToken(signer, DocumentType.lease, claims())).rejects.toBeInstanceOf(SignerUnavailableError);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('key rotation', () => {
  it('signs new tokens with the newest version, and still trusts tokens from the older one', async () => {
    const before = await signerFor([ROTATING_OLD]);
    const oldToken = (await signToken(before, DocumentType.lease, claims())).token;

    const rotated = await signerFor([ROTATING_NEW, ROTATING_OLD]);
    const jwks = createLocalJWKSet({ keys: await rotated.publicJwks() });
    expect((await rotated.publicJwks()).map((k) => k.kid)).toEqual([rotated.keyId, before.keyId]);
    expect(rotated.keyId).not.toBe(before.keyId);

    const newToken = (await signToken(rotated, DocumentType.lease, claims())).token;
    expect(decodeProtectedHeader(newToken).kid).toBe(rotated.keyId);
    await expect(jwtVerify(newToken, jwks)).resolves.toBeTruthy();
    await expect(jwtVerify(oldToken, jwks)).resolves.toMatchObject({ protectedHeader: { kid: before.keyId } });
    // A verifier that only knows the old key must not accept the new one by accident.
    await expect(jwtVerify(newToken, createLocalJWKSet({ keys: await before.publicJwks() }))).rejects.toThrow();
  });
});

describe('startup', () => {
  it('fails with SignerUnavailableError when KMS does not know the key version', async () => {
    const error = await createKmsSigner({ keyVersions: [version('missing')], endpoint: fake.endpoint }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignerUnavailableError);
    expect((error as Error).cause).toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('refuses a key whose algorithm has no JWS name, saying which key and why', async () => {
    await expect(createKmsSigner({ keyVersions: [P256, PSS], endpoint: fake.endpoint })).rejects.toThrow(
      /pss\/cryptoKeyVersions\/1 uses RSA_SIGN_PSS_2048_SHA256, which cannot sign lease tokens/,
    );
  });

  it('refuses an endpoint that is not host:port', async () => {
    await expect(createKmsSigner({ keyVersions: [P256], endpoint: 'http://localhost' })).rejects.toThrow(/host:port/);
  });
});

describe('converting KMS ECDSA signatures to JWS form', () => {
  const der = (...parts: number[][]) => {
    const body = parts.flatMap((p) => [0x02, p.length, ...p]);
    return new Uint8Array([0x30, body.length, ...body]);
  };

  it('left-pads a short r and drops the sign byte of a high s', () => {
    const r = Array.from({ length: 31 }, (_, i) => i + 1);
    const s = [0x00, ...Array.from({ length: 32 }, () => 0xff)];
    const raw = derToRawEcdsa(der(r, s), 32);
    expect(raw).toHaveLength(64);
    expect([...raw.subarray(0, 32)]).toEqual([0, ...r]);
    expect([...raw.subarray(32)]).toEqual(s.slice(1));
  });

  it('refuses DER that is truncated, negative, oversized or followed by junk', () => {
    const good = der([1], [2]);
    expect(() => derToRawEcdsa(good.subarray(0, good.length - 1), 32)).toThrow(/malformed/);
    expect(() => derToRawEcdsa(der([0x80], [1]), 32)).toThrow(/negative/);
    const tooLong = der(new Array<number>(33).fill(1), [1]);
    expect(() => derToRawEcdsa(tooLong, 32)).toThrow(/out of range/);
    expect(() => derToRawEcdsa(new Uint8Array([...good, 0]), 32)).toThrow(/malformed/);
  });
});

describe('the fake KMS', () => {
  it('encrypts and decrypts through the real client, with checksums like the real service', async () => {
    const [host, port] = fake.endpoint.split(':');
    const client = new KeyManagementServiceClient({
      apiEndpoint: host,
      port: Number(port),
      sslCreds: grpc.credentials.createInsecure(),
      auth: new GoogleAuth({ authClient: new googleAuthLibrary.PassThroughClient() }),
    });
    try {
      const crc = (b: Uint8Array) => crc32c.buf(b) >>> 0;
      const cryptoKey = SYMMETRIC.replace(/\/cryptoKeyVersions\/\d+$/, '');
      const plaintext = Buffer.from('webhook signing secret');
      const [encrypted] = await client.encrypt({ name: cryptoKey, plaintext, plaintextCrc32c: { value: crc(plaintext) } });
      expect(encrypted).toMatchObject({ name: SYMMETRIC, verifiedPlaintextCrc32c: true, protectionLevel: 'SOFTWARE' });
      const ciphertext = encrypted.ciphertext as Uint8Array;
      expect(Number(encrypted.ciphertextCrc32c?.value)).toBe(crc(ciphertext));

      const [decrypted] = await client.decrypt({ name: cryptoKey, ciphertext, ciphertextCrc32c: { value: crc(ciphertext) } });
      expect(Buffer.from(decrypted.plaintext as Uint8Array).toString()).toBe('webhook signing secret');
      expect(Number(decrypted.plaintextCrc32c?.value)).toBe(crc(plaintext));

      const corrupted = Buffer.from(ciphertext);
      corrupted[corrupted.length - 1]! ^= 1;
      await expect(client.decrypt({ name: cryptoKey, ciphertext: corrupted })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      await expect(
        client.asymmetricSign({ name: P256, digest: { sha256: new Uint8Array(32) }, digestCrc32c: { value: 1 } }),
      ).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      await expect(client.getCryptoKey({ name: cryptoKey })).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      await client.close();
    }
  });
});
