/**
 * The local signer: an ECDSA P-256 key (ES256) held in memory, loaded from SIGNING_KEY_PEM or
 * from `${dataDir}/signing-key.pem`, created there on first start. WebCrypto only, so it runs
 * the same on Node, Bun and Deno.
 */
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';
import type { Signer } from './signer.ts';
import type { FileStore } from '../files.ts';

export async function createLocalSigner(options: { pem?: string | undefined; files: FileStore }): Promise<Signer> {
  let pem = options.pem ?? (await options.files.read('signing-key.pem'));
  if (!pem) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    pem = await exportPKCS8(privateKey);
    await options.files.writeSecret('signing-key.pem', pem);
  }
  const privateKey = (await importPKCS8(pem, 'ES256', { extractable: true })) as CryptoKey;
  const { d: _d, ...publicJwk } = await exportJWK(privateKey);
  const keyId = await calculateJwkThumbprint(publicJwk);
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
