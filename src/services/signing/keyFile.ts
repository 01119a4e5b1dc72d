/**
 * A private key given as PEM, or kept in the data directory and created there (Ed25519) on first
 * start, with its public JWK and RFC 7638 thumbprint as key id. The JWS algorithm follows the
 * key: Ed25519 signs EdDSA, P-256 signs ES256.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';
import type { FileStore } from '../../lib/files.ts';
import type { SigningAlgorithm } from '../../lib/jws.ts';

/** The algorithms a key held here signs with (RS256 keys live in Cloud KMS only). */
type KeyAlgorithm = Exclude<SigningAlgorithm, 'RS256'>;

export interface LoadedKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  keyId: string;
  algorithm: KeyAlgorithm;
}

export async function loadOrCreateKey(options: {
  pem: string | undefined;
  files: FileStore;
  fileName: string;
  /** The algorithms this key may sign with; any other key is refused at start. */
  accept: KeyAlgorithm[];
  /** Names the key in errors: the environment variable that gives it. */
  name: string;
}): Promise<LoadedKey> {
  let pem = options.pem ?? (await options.files.read(options.fileName));
  if (!pem) {
    const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
    pem = await exportPKCS8(privateKey);
    await options.files.writeSecret(options.fileName, pem);
  }
  const algorithm = algorithmOf(pem);
  if (!algorithm || !options.accept.includes(algorithm)) {
    const kinds = options.accept.map((a) => (a === 'EdDSA' ? 'Ed25519' : 'P-256')).join(' or ');
    throw new Error(`${options.name} (or ${options.fileName} in the data directory) must be an ${kinds} private key in PKCS#8 PEM`);
  }
  const privateKey = (await importPKCS8(pem, algorithm, { extractable: true })) as CryptoKey;
  const { d: _d, ...publicJwk } = await exportJWK(privateKey);
  return { privateKey, publicJwk, keyId: await calculateJwkThumbprint(publicJwk), algorithm };
}

function algorithmOf(pem: string): KeyAlgorithm | undefined {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    return undefined;
  }
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/**
 * The public JWKs (with RFC 7638 key ids and their algorithm) of every PEM block in `pem`,
 * public or private keys alike, Ed25519 or P-256.
 */
export async function publicKeysOf(pem: string, name: string): Promise<JWK[]> {
  const keys: JWK[] = [];
  for (const [block] of pem.matchAll(PEM_BLOCK)) {
    let key;
    try {
      key = createPublicKey(block);
    } catch {
      throw new Error(`${name}: a PEM block is not a public or private key`);
    }
    const algorithm = key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
    if (!algorithm) throw new Error(`${name}: only Ed25519 and P-256 keys can be published`);
    const jwk = key.export({ format: 'jwk' }) as JWK;
    keys.push({ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: algorithm });
  }
  return keys;
}
