/**
 * The local signer: a private key held in memory, loaded from SIGNING_KEY_PEM or from
 * `${dataDir}/signing-key.pem`, created there on first start as Ed25519 (EdDSA). A P-256 key
 * (ES256), which data directories made before 2026-11-30 hold, keeps signing ES256.
 *
 * Ed25519 by default because every heartbeat signs a lease: through node:crypto it costs the
 * same as P-256 on Node (≈ 30 µs) and less on Bun, while Deno's P-256 takes ≈ 550 µs a signature
 * and its Ed25519 30 µs. It signs with node:crypto's synchronous `sign` (Node, Bun and Deno all
 * have it): WebCrypto's async sign costs several times the CPU per signature on Node and Bun.
 */
import { KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { loadOrCreateKey, publicKeysOf, type LoadedKey } from './keyFile.ts';
import type { Signer } from '../../lib/jws.ts';
import type { FileStore } from '../../lib/files.ts';

/** Where a data directory keeps public keys to publish beside its signing key. */
export const PUBLISHED_KEYS_FILE = 'signing-keys-published.pem';

/**
 * `publishedPem`: public (or private) keys published beside the signing key and never used to
 * sign, one PEM block each (SIGNING_KEYS_PUBLISHED, or the data directory's PUBLISHED_KEYS_FILE):
 * the next key, before a rotation, so verifiers know it when it starts signing; the replaced
 * ones, after it, so what they signed verifies until it expires (7 days at the most).
 */
export async function createLocalSigner(options: {
  pem?: string | undefined;
  publishedPem?: string | undefined;
  files: FileStore;
}): Promise<Signer> {
  const key = await loadOrCreateKey({
    pem: options.pem,
    files: options.files,
    fileName: 'signing-key.pem',
    accept: ['EdDSA', 'ES256'],
    name: 'SIGNING_KEY_PEM',
  });
  const published = (
    await publicKeysOf(options.publishedPem ?? (await options.files.read(PUBLISHED_KEYS_FILE)) ?? '', 'SIGNING_KEYS_PUBLISHED')
  )
    .filter((jwk) => jwk.kid !== key.keyId)
    .map((jwk) => ({ ...jwk, use: 'sig' }));
  return signerOfKey(key, published);
}

/** A signer over a key held here (loadOrCreateKey's), publishing its public key and `published`. */
export function signerOfKey(loaded: LoadedKey, published: JWK[] = []): Signer {
  const { privateKey, publicJwk, keyId, algorithm } = loaded;
  const jwk: JWK = { ...publicJwk, kid: keyId, alg: algorithm, use: 'sig' };
  const key = KeyObject.from(privateKey);
  // Ed25519 hashes internally; ES256 wants r‖s (IEEE P1363), not node's default DER.
  const ecdsaKey = { key, dsaEncoding: 'ieee-p1363' } as const;
  const signBytes =
    algorithm === 'EdDSA' ? (input: Uint8Array) => sign(null, input, key) : (input: Uint8Array) => sign('sha256', input, ecdsaKey);
  return {
    algorithm,
    keyId,
    async sign(signingInput) {
      return signBytes(signingInput);
    },
    async publicJwks() {
      return [jwk, ...published];
    },
    async close() {},
  };
}
