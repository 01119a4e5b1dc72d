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
import { loadOrCreateKey } from './keyFile.ts';
import type { Signer } from '../../lib/jws.ts';
import type { FileStore } from '../../lib/files.ts';

export async function createLocalSigner(options: { pem?: string | undefined; files: FileStore }): Promise<Signer> {
  const { privateKey, publicJwk, keyId, algorithm } = await loadOrCreateKey({
    pem: options.pem,
    files: options.files,
    fileName: 'signing-key.pem',
    accept: ['EdDSA', 'ES256'],
    name: 'SIGNING_KEY_PEM',
  });
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
      return [jwk];
    },
    async close() {},
  };
}
