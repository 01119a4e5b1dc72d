/**
 * An in-process stand-in for Cloud KMS: a plaintext gRPC server speaking the real
 * google.cloud.kms.v1.KeyManagementService protos, so tests drive the real
 * `@google-cloud/kms` client end to end. It answers like the real service where the signer
 * depends on it (CRC32C fields, `name`, `protectionLevel`, NOT_FOUND, UNIMPLEMENTED), and can be
 * told to misbehave (`setFault`) to prove the signer refuses a doubtful answer.
 */
import {
  constants as cryptoConstants,
  createCipheriv,
  createDecipheriv,
  createHash,
  generateKeyPairSync,
  privateEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import crc32c from 'crc-32/crc32c';

export type FakeKmsAlgorithm =
  | 'RSA_SIGN_PKCS1_4096_SHA256'
  | 'RSA_SIGN_PKCS1_2048_SHA256'
  | 'RSA_SIGN_PKCS1_3072_SHA256'
  | 'EC_SIGN_P256_SHA256'
  // Served by GetPublicKey only, so tests can show the signer refusing a key JWS cannot name;
  // AsymmetricSign with it fails.
  | 'RSA_SIGN_PSS_2048_SHA256'
  // Not a signing key: lets tests exercise Encrypt/Decrypt against a named key like any other.
  | 'GOOGLE_SYMMETRIC_ENCRYPTION';

export type FakeKmsFault =
  | 'none'
  | 'unavailable'
  | 'bad-signature-crc'
  | 'unverified-digest'
  | 'wrong-signature'
  // Encrypt answers a ciphertext whose checksum does not match, or does not confirm the plaintext's.
  | 'bad-ciphertext-crc'
  | 'unverified-plaintext'
  // Decrypt answers a plaintext whose checksum does not match.
  | 'bad-plaintext-crc';

export interface FakeKms {
  /** `host:port`, plaintext gRPC. */
  endpoint: string;
  close(): Promise<void>;
  setFault(fault: FakeKmsFault): void;
  publicKeyPem(name: string): string;
  /** AsymmetricSign calls that produced a signature (faulty answers included). */
  readonly signCount: number;
  /** Encrypt and Decrypt calls that answered. */
  readonly encryptCount: number;
  readonly decryptCount: number;
  /** Adds a version to a symmetric CryptoKey and makes it the primary, as a rotation does. */
  rotate(version: string): void;
}

interface FakeKey {
  name: string;
  algorithm: FakeKmsAlgorithm;
  /** The CryptoKey this version belongs to (Encrypt/Decrypt address keys, not versions). */
  cryptoKey: string;
  privateKey?: KeyObject;
  publicPem?: string;
  /** P-256 private scalar, for signing a digest we are handed rather than a message. */
  ecScalar?: bigint;
  aesKey?: Buffer;
  /** Tags our ciphertext with the version that made it, as the real service's opaque format does. */
  handle?: Buffer;
}

const PROTECTION_LEVEL = 'SOFTWARE';
// DER of DigestInfo { AlgorithmIdentifier sha256, OCTET STRING (32) }: what RSASSA-PKCS1-v1_5
// wraps around the hash before padding; privateEncrypt adds only the padding.
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const MAX_PLAINTEXT = 64 * 1024;

const crc = (bytes: Uint8Array) => crc32c.buf(bytes) >>> 0;
const int64 = (n: number) => ({ value: String(n) });
/** Int64Value after proto-loader (`longs: String`), or absent. */
const int64In = (v: { value?: string | number } | null | undefined): number | undefined => (v == null ? undefined : Number(v.value ?? 0));

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function loadService(): grpc.ServiceDefinition {
  const require = createRequire(import.meta.url);
  const kmsMain = require.resolve('@google-cloud/kms');
  // google-gax's `exports` hide its package.json, so find it through its entry point, resolved
  // from the kms package so we get the copy kms itself uses.
  const gaxMain = createRequire(kmsMain).resolve('google-gax');
  const kmsRoot = join(dirname(kmsMain), '..', '..');
  const gaxRoot = join(dirname(gaxMain), '..', '..');
  const definition = protoLoader.loadSync('google/cloud/kms/v1/service.proto', {
    includeDirs: [join(kmsRoot, 'build', 'protos'), join(gaxRoot, 'build', 'protos')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { kms: { v1: { KeyManagementService: { service: grpc.ServiceDefinition } } } } };
  };
  return pkg.google.cloud.kms.v1.KeyManagementService.service;
}

function makeKey(name: string, algorithm: FakeKmsAlgorithm): FakeKey {
  const cryptoKey = name.replace(/\/cryptoKeyVersions\/[^/]+$/, '');
  if (algorithm === 'GOOGLE_SYMMETRIC_ENCRYPTION') {
    return { name, algorithm, cryptoKey, aesKey: randomBytes(32), handle: createHash('sha256').update(name).digest().subarray(0, 8) };
  }
  if (algorithm === 'EC_SIGN_P256_SHA256') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = privateKey.export({ format: 'jwk' }).d!;
    return {
      name,
      algorithm,
      cryptoKey,
      privateKey,
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
      ecScalar: bytesToBigInt(Buffer.from(d, 'base64url')),
    };
  }
  const modulusLength = Number(/_(\d{4})_SHA256$/.exec(algorithm)![1]);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { name, algorithm, cryptoKey, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

export async function startFakeKms(keys: Array<{ name: string; algorithm: FakeKmsAlgorithm }>): Promise<FakeKms> {
  const byName = new Map<string, FakeKey>();
  /** Each CryptoKey's primary version: its first listed one until a rotation. */
  const primaries = new Map<string, string>();
  const add = (name: string, algorithm: FakeKmsAlgorithm) => {
    const key = makeKey(name, algorithm);
    byName.set(name, key);
    if (!primaries.has(key.cryptoKey)) primaries.set(key.cryptoKey, name);
    return key;
  };
  for (const k of keys) add(k.name, k.algorithm);
  let fault: FakeKmsFault = 'none';
  let signCount = 0;
  let encryptCount = 0;
  let decryptCount = 0;

  const versionOrThrow = (name: string): FakeKey => {
    const key = byName.get(name);
    if (!key) throw new RpcError(grpc.status.NOT_FOUND, `CryptoKeyVersion ${name} not found.`);
    return key;
  };
  /** Encrypt takes a CryptoKey (its primary) or one of its versions. */
  const symmetricOrThrow = (name: string): FakeKey[] => {
    const versions = [...byName.values()].filter((k) => k.cryptoKey === name || k.name === name);
    if (versions.length === 0) throw new RpcError(grpc.status.NOT_FOUND, `CryptoKey ${name} not found.`);
    if (versions.some((k) => k.algorithm !== 'GOOGLE_SYMMETRIC_ENCRYPTION')) {
      throw new RpcError(grpc.status.FAILED_PRECONDITION, `${name} is not an ENCRYPT_DECRYPT key.`);
    }
    return versions;
  };
  const checkCrc = (field: string, data: Buffer, given: number | undefined): boolean => {
    if (given === undefined) return false;
    if (crc(data) !== given) throw new RpcError(grpc.status.INVALID_ARGUMENT, `The checksum in field ${field} did not match the data.`);
    return true;
  };

  type Req = Record<string, any>;
  const handlers: Record<string, (req: Req) => object> = {
    GetPublicKey(req) {
      const key = versionOrThrow(req.name);
      if (!key.publicPem) throw new RpcError(grpc.status.FAILED_PRECONDITION, `${req.name} has no public key.`);
      return {
        pem: key.publicPem,
        algorithm: key.algorithm,
        pemCrc32c: int64(crc(Buffer.from(key.publicPem))),
        name: key.name,
        protectionLevel: PROTECTION_LEVEL,
        publicKeyFormat: 'PEM',
      };
    },

    AsymmetricSign(req) {
      const key = versionOrThrow(req.name);
      if (!key.privateKey) throw new RpcError(grpc.status.FAILED_PRECONDITION, `${req.name} is not an ASYMMETRIC_SIGN key.`);
      if (key.algorithm.startsWith('RSA_SIGN_PSS')) throw new RpcError(grpc.status.UNIMPLEMENTED, 'The fake KMS does not sign with PSS.');
      // Only the prehashed form: these algorithms take `data` only in newer API surfaces, and the
      // signer never sends it.
      if (req.data?.length) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'data is not supported for this algorithm; send digest.');
      const digest: Buffer | undefined = req.digest?.sha256;
      if (req.digest?.digest !== 'sha256' || !digest || digest.length !== 32) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `${key.algorithm} requires a 32-byte digest.sha256.`);
      }
      let verified = checkCrc('digest_crc32c', digest, int64In(req.digestCrc32c));
      // A key or HSM gone wrong: a well-formed signature with a matching checksum, of other bytes.
      const signed = fault === 'wrong-signature' ? Buffer.from(digest).map((b, i) => (i === 0 ? b ^ 1 : b)) : digest;
      const signature =
        key.ecScalar !== undefined
          ? ecdsaP256SignDigest(key.ecScalar, signed)
          : privateEncrypt(
              { key: key.privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
              Buffer.concat([SHA256_DIGEST_INFO, signed]),
            );
      signCount++;
      let signatureCrc = crc(signature);
      if (fault === 'bad-signature-crc') signatureCrc = (signatureCrc ^ 1) >>> 0;
      if (fault === 'unverified-digest') verified = false;
      return {
        signature,
        signatureCrc32c: int64(signatureCrc),
        verifiedDigestCrc32c: verified,
        name: key.name,
        verifiedDataCrc32c: false,
        protectionLevel: PROTECTION_LEVEL,
      };
    },

    Encrypt(req) {
      const versions = symmetricOrThrow(req.name);
      const key = versions.find((k) => k.name === req.name) ?? byName.get(primaries.get(req.name)!)!;
      const plaintext: Buffer = req.plaintext;
      const aad: Buffer = req.additionalAuthenticatedData;
      if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `plaintext must be 1 to ${MAX_PLAINTEXT} bytes.`);
      }
      const verifiedPlaintext = checkCrc('plaintext_crc32c', plaintext, int64In(req.plaintextCrc32c));
      const verifiedAad = checkCrc('additional_authenticated_data_crc32c', aad, int64In(req.additionalAuthenticatedDataCrc32c));
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key.aesKey!, iv);
      cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const ciphertext = Buffer.concat([key.handle!, iv, cipher.getAuthTag(), body]);
      encryptCount++;
      return {
        name: key.name,
        ciphertext,
        ciphertextCrc32c: int64(fault === 'bad-ciphertext-crc' ? (crc(ciphertext) ^ 1) >>> 0 : crc(ciphertext)),
        verifiedPlaintextCrc32c: verifiedPlaintext && fault !== 'unverified-plaintext',
        verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
        protectionLevel: PROTECTION_LEVEL,
      };
    },

    Decrypt(req) {
      const versions = symmetricOrThrow(req.name);
      const ciphertext: Buffer = req.ciphertext;
      const aad: Buffer = req.additionalAuthenticatedData;
      checkCrc('ciphertext_crc32c', ciphertext, int64In(req.ciphertextCrc32c));
      checkCrc('additional_authenticated_data_crc32c', aad, int64In(req.additionalAuthenticatedDataCrc32c));
      const invalid = () => new RpcError(grpc.status.INVALID_ARGUMENT, 'Decryption failed: the ciphertext is invalid.');
      const key = versions.find((k) => ciphertext.length >= 36 && k.handle!.equals(ciphertext.subarray(0, 8)));
      if (!key) throw invalid();
      const decipher = createDecipheriv('aes-256-gcm', key.aesKey!, ciphertext.subarray(8, 20));
      decipher.setAuthTag(ciphertext.subarray(20, 36));
      decipher.setAAD(aad);
      let plaintext: Buffer;
      try {
        plaintext = Buffer.concat([decipher.update(ciphertext.subarray(36)), decipher.final()]);
      } catch {
        throw invalid();
      }
      decryptCount++;
      const plaintextCrc = fault === 'bad-plaintext-crc' ? (crc(plaintext) ^ 1) >>> 0 : crc(plaintext);
      return {
        plaintext,
        plaintextCrc32c: int64(plaintextCrc),
        usedPrimary: primaries.get(key.cryptoKey) === key.name,
        protectionLevel: PROTECTION_LEVEL,
      };
    },
  };

  const service = loadService();
  const implementation: grpc.UntypedServiceImplementation = {};
  // Every KeyManagementService RPC is unary, so one handler shape covers them all, and the
  // ones we don't fake answer UNIMPLEMENTED like a real server missing the method.
  for (const method of Object.keys(service)) {
    const handler = handlers[method];
    implementation[method] = (call: grpc.ServerUnaryCall<Req, object>, callback: grpc.sendUnaryData<object>) => {
      if (fault === 'unavailable') return callback({ code: grpc.status.UNAVAILABLE, details: 'The service is currently unavailable.' });
      if (!handler) return callback({ code: grpc.status.UNIMPLEMENTED, details: `The fake KMS does not implement ${method}.` });
      try {
        callback(null, handler(call.request));
      } catch (error) {
        if (error instanceof RpcError) return callback({ code: error.code, details: error.message });
        callback({ code: grpc.status.INTERNAL, details: String(error) });
      }
    };
  }

  const server = new grpc.Server();
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );

  return {
    endpoint: `127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        // A client may keep its connection open; don't let that hold up teardown for long.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
    setFault(next) {
      fault = next;
    },
    publicKeyPem(name) {
      const pem = byName.get(name)?.publicPem;
      if (!pem) throw new Error(`fake KMS has no asymmetric key ${name}`);
      return pem;
    },
    get signCount() {
      return signCount;
    },
    get encryptCount() {
      return encryptCount;
    },
    get decryptCount() {
      return decryptCount;
    },
    rotate(version) {
      const key = add(version, 'GOOGLE_SYMMETRIC_ENCRYPTION');
      primaries.set(key.cryptoKey, version);
    },
  };
}

// --- ECDSA P-256 over a given digest ---------------------------------------------------------
// Node's sign APIs hash their input themselves (even with a null algorithm, for EC keys), and
// WebCrypto has no prehashed mode, so a KMS-style "sign this SHA-256 digest" needs ECDSA done by
// hand. Plain BigInt arithmetic, not constant time: fine for a test fake, never for real keys.

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Jacobian = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  1n,
];
type Jacobian = [x: bigint, y: bigint, z: bigint];
const INFINITY: Jacobian = [1n, 1n, 0n];

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function invert(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error('not invertible');
  return mod(oldS, m);
}

// dbl-2001-b (a = -3).
function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const delta = mod(z * z, P);
  const gamma = mod(y * y, P);
  const beta = mod(x * gamma, P);
  const alpha = mod(3n * (x - delta) * (x + delta), P);
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) ** 2n - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, P);
  return [x3, y3, z3];
}

// add-2007-bl.
function add(a: Jacobian, b: Jacobian): Jacobian {
  const [x1, y1, z1] = a;
  const [x2, y2, z2] = b;
  if (z1 === 0n) return b;
  if (z2 === 0n) return a;
  const z1z1 = mod(z1 * z1, P);
  const z2z2 = mod(z2 * z2, P);
  const u1 = mod(x1 * z2z2, P);
  const u2 = mod(x2 * z1z1, P);
  const s1 = mod(y1 * z2 * z2z2, P);
  const s2 = mod(y2 * z1 * z1z1, P);
  const h = mod(u2 - u1, P);
  const r = mod(2n * (s2 - s1), P);
  if (h === 0n) return r === 0n ? double(a) : INFINITY;
  const i = mod(4n * h * h, P);
  const j = mod(h * i, P);
  const v = mod(u1 * i, P);
  const x3 = mod(r * r - j - 2n * v, P);
  const y3 = mod(r * (v - x3) - 2n * s1 * j, P);
  const z3 = mod(((z1 + z2) ** 2n - z1z1 - z2z2) * h, P);
  return [x3, y3, z3];
}

function multiplyG(k: bigint): bigint /* affine x */ {
  let result = INFINITY;
  let addend = G;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = double(addend);
  }
  const zInv = invert(result[2], P);
  return mod(result[0] * zInv * zInv, P);
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes).toString('hex'));
}

function derInteger(v: bigint): Buffer {
  let bytes = Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** ECDSA (SEC 1 §4.1.3) over a 32-byte digest, DER-encoded like Cloud KMS returns it. */
export function ecdsaP256SignDigest(d: bigint, digest: Uint8Array): Buffer {
  // The digest is as long as N, so no truncation is needed.
  const e = bytesToBigInt(digest);
  for (;;) {
    const k = bytesToBigInt(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = mod(multiplyG(k), N);
    if (r === 0n) continue;
    const s = mod(invert(k, N) * (e + r * d), N);
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }
}
