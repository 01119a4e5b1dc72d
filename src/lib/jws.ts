/**
 * What the server hands out is a compact JWS that any JOSE library verifies offline against
 * /.well-known/jwks.json. A `Signer` only signs bytes and publishes public keys; building the
 * token is shared, so the local key and Cloud KMS produce byte-for-byte the same token shape.
 */
import type { JWK } from 'jose';
import { base64url } from './encoding.ts';

export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

export interface Signer {
  /** Algorithm and key id of the key that signs new tokens. */
  readonly algorithm: SigningAlgorithm;
  readonly keyId: string;
  /** Signs the JWS signing input (ASCII `header.payload`), returning the raw JWS signature bytes. */
  sign(signingInput: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
  /** Every live public key (the signing key and older ones still trusted), with `kid`, `alg`, `use`. */
  publicJwks(): Promise<JWK[]>;
  /** Releases what the signer holds (the KMS gRPC channel); the local key holds nothing. */
  close(): Promise<void>;
}

export interface SignedToken {
  token: string;
  payload: Record<string, unknown>;
  signature: string;
  algorithm: SigningAlgorithm;
  keyId: string;
}

const encoder = new TextEncoder();

/** A signer's encoded JWS header never changes, so it is built once per signer. */
const encodedHeaders = new WeakMap<Signer, string>();

function encodedHeader(signer: Signer): string {
  let header = encodedHeaders.get(signer);
  if (header === undefined) {
    header = base64url(encoder.encode(JSON.stringify({ alg: signer.algorithm, kid: signer.keyId, typ: 'JWT' })));
    encodedHeaders.set(signer, header);
  }
  return header;
}

export async function signToken(signer: Signer, payload: Record<string, unknown>): Promise<SignedToken> {
  const signingInput = encodedHeader(signer) + '.' + base64url(encoder.encode(JSON.stringify(payload)));
  const signature = base64url(await signer.sign(encoder.encode(signingInput)));
  return {
    token: `${signingInput}.${signature}`,
    payload,
    signature,
    algorithm: signer.algorithm,
    keyId: signer.keyId,
  };
}

/** The signing backend could not sign or answer (KMS down, integrity check failed): nothing was issued. */
export class SignerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignerUnavailableError';
  }
}
