/**
 * The Cloud KMS signer: the private key never leaves KMS. We send the SHA-256 of the JWS signing
 * input to `asymmetricSign` and publish what `getPublicKey` returns as the JWKS, so tokens have the
 * same shape as the local signer's and verify offline. The client library does not check the
 * CRC32C integrity fields itself, so this module checks them both ways and refuses to return a
 * signature it cannot vouch for.
 *
 * Loaded only when SIGNER=kms (app.ts imports it lazily), so the gRPC stack stays out of
 * deployments that sign locally.
 */
import { protos, type KeyManagementServiceClient } from '@google-cloud/kms';
import type { CallOptions } from 'google-gax';
import { calculateJwkThumbprint, exportJWK, importSPKI, type JWK } from 'jose';
import { SignerUnavailableError, type Signer, type SigningAlgorithm } from '../../lib/jws.ts';
import { bytes, crc, deadline, int64, kmsClient } from '../kms/client.ts';

export interface KmsSignerOptions {
  /** Key version names, newest first: the first signs, all are published. */
  keyVersions: string[];
  /** `host:port` of a plaintext gRPC endpoint (tests, on-prem emulators); default: Google's. */
  endpoint?: string | undefined;
  /**
   * Upper bound for one sign or key fetch, retries included. The library default retries
   * UNAVAILABLE for up to ten minutes, far longer than anyone waits for a lease token.
   */
  deadlineMs?: number | undefined;
}

// KMS algorithms whose signatures are exactly those of a JWS algorithm we issue. Others (PSS,
// SHA-512, raw PKCS#1, Ed25519 via `data`) would need a `SigningAlgorithm` and a signing path of
// their own, so such a key is refused at startup instead of producing tokens nobody can verify.
const JWS_ALGORITHM: Record<string, SigningAlgorithm | undefined> = {
  RSA_SIGN_PKCS1_2048_SHA256: 'RS256',
  RSA_SIGN_PKCS1_3072_SHA256: 'RS256',
  RSA_SIGN_PKCS1_4096_SHA256: 'RS256',
  EC_SIGN_P256_SHA256: 'ES256',
};

const DEFAULT_DEADLINE_MS = 5_000;

interface VersionKey {
  name: string;
  algorithm: SigningAlgorithm;
  jwk: JWK;
  /** RS256 signatures are exactly the modulus length; ES256 ones are two 32-byte integers. */
  signatureBytes: number;
  /** The published public key, to check each signature before it leaves the signer. */
  verifyKey: CryptoKey;
}


export async function createKmsSigner(options: KmsSignerOptions): Promise<Signer> {
  const { keyVersions } = options;
  if (keyVersions.length === 0) throw new Error('KMS signer: no key versions configured');
  if (new Set(keyVersions).size !== keyVersions.length) throw new Error('KMS signer: a key version is listed twice');

  const client = kmsClient(options.endpoint);
  const callOptions = deadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS);

  let versions: VersionKey[];
  try {
    versions = await Promise.all(keyVersions.map((name) => loadVersion(client, name, callOptions)));
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  const signing = versions[0]!;
  const jwks = versions.map((v) => v.jwk);

  return {
    algorithm: signing.algorithm,
    keyId: signing.jwk.kid!,

    async sign(signingInput) {
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', signingInput));
      let response: protos.google.cloud.kms.v1.IAsymmetricSignResponse;
      try {
        [response] = await client.asymmetricSign(
          { name: signing.name, digest: { sha256: digest }, digestCrc32c: { value: crc(digest) } },
          callOptions,
        );
      } catch (error) {
        throw new SignerUnavailableError(`KMS could not sign with ${signing.name}`, { cause: error });
      }
      // Without this flag KMS may have signed a digest corrupted on the way in, and the CRC on the
      // way back would still match what it (wrongly) signed.
      if (response.verifiedDigestCrc32c !== true) {
        throw new SignerUnavailableError(`KMS did not confirm the digest checksum for ${signing.name}`);
      }
      if (response.name !== signing.name) {
        throw new SignerUnavailableError(`KMS answered for ${String(response.name)}, not ${signing.name}`);
      }
      const signature = bytes(response.signature);
      if (int64(response.signatureCrc32c) !== crc(signature)) {
        throw new SignerUnavailableError(`KMS signature from ${signing.name} failed its checksum`);
      }
      let jws: Uint8Array;
      try {
        jws = toJwsSignature(signing, signature);
      } catch (error) {
        throw new SignerUnavailableError(`KMS returned an unusable signature from ${signing.name}`, { cause: error });
      }
      // The checksums prove the bytes arrived as sent, not that they are a signature of this
      // input by the key verifiers trust: a document that fails offline must never be handed out.
      const params = signing.algorithm === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
      if (!(await crypto.subtle.verify(params, signing.verifyKey, new Uint8Array(jws), signingInput))) {
        throw new SignerUnavailableError(`KMS signature from ${signing.name} does not verify against its public key`);
      }
      return jws;
    },

    async publicJwks() {
      return jwks.map((jwk) => ({ ...jwk }));
    },

    async close() {
      await client.close();
    },
  };
}

async function loadVersion(client: KeyManagementServiceClient, name: string, callOptions: CallOptions): Promise<VersionKey> {
  let publicKey: protos.google.cloud.kms.v1.IPublicKey;
  try {
    [publicKey] = await client.getPublicKey({ name }, callOptions);
  } catch (error) {
    throw new SignerUnavailableError(`KMS could not return the public key of ${name}`, { cause: error });
  }
  const pem = publicKey.pem ?? '';
  if (publicKey.name !== name) {
    throw new SignerUnavailableError(`KMS answered for ${String(publicKey.name)}, not ${name}`);
  }
  if (int64(publicKey.pemCrc32c) !== crc(new TextEncoder().encode(pem))) {
    throw new SignerUnavailableError(`KMS public key of ${name} failed its checksum`);
  }
  const kmsAlgorithm =
    typeof publicKey.algorithm === 'number'
      ? protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm[publicKey.algorithm]
      : publicKey.algorithm;
  const algorithm = JWS_ALGORITHM[kmsAlgorithm ?? ''];
  if (!algorithm) {
    throw new Error(
      `KMS key version ${name} uses ${String(kmsAlgorithm)}, which cannot sign lease tokens; ` +
        `use one of ${Object.keys(JWS_ALGORITHM).join(', ')}`,
    );
  }
  const verifyKey = await importSPKI(pem, algorithm, { extractable: true });
  const { kid: _kid, ...publicJwk } = await exportJWK(verifyKey);
  // The RFC 7638 thumbprint rather than the version name: it is what the local signer uses, any
  // verifier can recompute it from the JWK, and it keeps project and key ring names out of every
  // token header. It changes only if the key material does, which for a KMS version it never does.
  const kid = await calculateJwkThumbprint(publicJwk);
  const signatureBytes = algorithm === 'ES256' ? 64 : base64urlLength(publicJwk.n!);
  return { name, algorithm, jwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' }, signatureBytes, verifyKey };
}

function toJwsSignature(key: VersionKey, signature: Uint8Array): Uint8Array {
  if (key.algorithm === 'ES256') return derToRawEcdsa(signature, 32);
  if (signature.length !== key.signatureBytes) {
    throw new Error(`expected a ${key.signatureBytes}-byte RSA signature, got ${signature.length} bytes`);
  }
  return signature;
}

/**
 * KMS returns ECDSA signatures as DER `SEQUENCE { INTEGER r, INTEGER s }`; JWS wants r‖s, each
 * left-padded to the curve size (RFC 7518 §3.4). Strict: anything else is a broken answer.
 */
export function derToRawEcdsa(der: Uint8Array, size: number): Uint8Array {
  let pos = 0;
  const malformed = (why: string) => new Error(`malformed DER ECDSA signature: ${why}`);
  const byte = () => {
    if (pos >= der.length) throw malformed('truncated');
    return der[pos++]!;
  };
  const length = () => {
    const first = byte();
    if (first < 0x80) return first;
    // Two P-521 integers are the most that would need more than one length byte; we never go there.
    if (first === 0x81) {
      const value = byte();
      if (value < 0x80) throw malformed('non-minimal length');
      return value;
    }
    throw malformed('length too long');
  };

  if (byte() !== 0x30) throw malformed('not a SEQUENCE');
  if (length() !== der.length - pos) throw malformed('SEQUENCE length does not match');
  const raw = new Uint8Array(2 * size);
  for (const offset of [0, size]) {
    if (byte() !== 0x02) throw malformed('not an INTEGER');
    const len = length();
    if (len === 0 || pos + len > der.length) throw malformed('bad INTEGER length');
    let value = der.subarray(pos, pos + len);
    pos += len;
    if (value[0]! & 0x80) throw malformed('negative INTEGER');
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > size || (value.length === 1 && value[0] === 0)) throw malformed('INTEGER out of range');
    raw.set(value, offset + size - value.length);
  }
  if (pos !== der.length) throw malformed('trailing bytes');
  return raw;
}

function base64urlLength(value: string): number {
  return Math.floor((value.length * 3) / 4);
}
