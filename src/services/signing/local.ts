/**
 * The local signer: an ECDSA P-256 key (ES256) held in memory, loaded from SIGNING_KEY_PEM or
 * from `${dataDir}/signing-key.pem`, created there on first start. WebCrypto only, so it runs
 * the same on Node, Bun and Deno.
 */
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
  return {
    algorithm: 'ES256',
    keyId,
    async sign(signingInput) {
      // WebCrypto's ECDSA output is already the r‖s form that JWS wants.
      const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, signingInput);
      return new Uint8Array(signature);
    },
    async publicJwks() {
      return [jwk];
    },
    async close() {},
  };
}
