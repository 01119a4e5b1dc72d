/**
 * The local signer: an ECDSA P-256 key (ES256) held in memory, loaded from SIGNING_KEY_PEM or
 * from `${dataDir}/signing-key.pem`, created there on first start.
 *
 * It signs with node:crypto's synchronous `sign` (Node, Bun and Deno all have it): every
 * heartbeat signs a lease, and WebCrypto's async sign costs twice the CPU per signature on Node
 * (a thread-pool job and its promise around the same P-256 operation).
 */
import { KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { loadOrCreateKey } from './keyFile.ts';
import type { Signer } from './signer.ts';
import type { FileStore } from '../files.ts';

export async function createLocalSigner(options: { pem?: string | undefined; files: FileStore }): Promise<Signer> {
  const { privateKey, publicJwk, keyId } = await loadOrCreateKey({
    pem: options.pem,
    files: options.files,
    fileName: 'signing-key.pem',
    generate: 'ES256',
    algorithm: 'ES256',
  });
  const jwk: JWK = { ...publicJwk, kid: keyId, alg: 'ES256', use: 'sig' };
  const key = KeyObject.from(privateKey);
  return {
    algorithm: 'ES256',
    keyId,
    async sign(signingInput) {
      // JWS wants r‖s (IEEE P1363), not node's default DER.
      return sign('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' });
    },
    async publicJwks() {
      return [jwk];
    },
    async close() {},
  };
}
