/**
 * What the server hands out is a compact JWS that any JOSE library verifies offline against
 * /.well-known/jwks.json. A `Signer` only signs bytes and publishes public keys; building the
 * token is shared, so the local key and Cloud KMS produce byte-for-byte the same token shape.
 *
 * Every kind of document names itself in the JWS header `typ` (explicit typing, RFC 8725 §3.11)
 * and verifiers require the one they expect, so a document signed for one purpose never passes
 * for another even though one key signs them all.
 */
import type { JWK } from 'jose';
import { base64url } from './encoding.ts';

export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

/** The `typ` header of each kind of signed document. */
export const DocumentType = {
  lease: 'lease+jwt',
  certificate: 'license-certificate+jwt',
  validation: 'license-validation+jwt',
  /** Dashboard users' access tokens (RFC 9068's type): signed by the lease key when KMS signs. */
  accessToken: 'at+jwt',
  /** A signed head of an organization's audit chain (services/audit/anchors.ts). */
  auditAnchor: 'audit-anchor+jwt',
} as const;
export type DocumentType = (typeof DocumentType)[keyof typeof DocumentType];

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

/** A signer's encoded JWS header for one document type never changes, so it is built once. */
const encodedHeaders = new WeakMap<Signer, Map<DocumentType, string>>();

function encodedHeader(signer: Signer, typ: DocumentType): string {
  let headers = encodedHeaders.get(signer);
  if (headers === undefined) encodedHeaders.set(signer, (headers = new Map()));
  let header = headers.get(typ);
  if (header === undefined) {
    header = base64url(encoder.encode(JSON.stringify({ alg: signer.algorithm, kid: signer.keyId, typ })));
    headers.set(typ, header);
  }
  return header;
}

export async function signToken(signer: Signer, typ: DocumentType, payload: Record<string, unknown>): Promise<SignedToken> {
  const signingInput = encodedHeader(signer, typ) + '.' + base64url(encoder.encode(JSON.stringify(payload)));
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
