/**
 * A private key given as PEM, or kept in the data directory and created there on first start,
 * with its public JWK and RFC 7638 thumbprint as key id.
 */
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';
import type { FileStore } from '../files.ts';

export async function loadOrCreateKey(options: {
  pem: string | undefined;
  files: FileStore;
  fileName: string;
  /** jose's name for the key type: 'ES256' (P-256) or 'Ed25519'. */
  generate: 'ES256' | 'Ed25519';
  /** The JWS algorithm the key is imported for. */
  algorithm: 'ES256' | 'EdDSA';
}): Promise<{ privateKey: CryptoKey; publicJwk: JWK; keyId: string }> {
  let pem = options.pem ?? (await options.files.read(options.fileName));
  if (!pem) {
    const { privateKey } = await generateKeyPair(options.generate, { extractable: true });
    pem = await exportPKCS8(privateKey);
    await options.files.writeSecret(options.fileName, pem);
  }
  const privateKey = (await importPKCS8(pem, options.algorithm, { extractable: true })) as CryptoKey;
  const { d: _d, ...publicJwk } = await exportJWK(privateKey);
  return { privateKey, publicJwk, keyId: await calculateJwkThumbprint(publicJwk) };
}
