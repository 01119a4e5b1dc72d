/**
 * Offline verification of what the server signs: leases, license certificates and validation
 * answers. Each is a compact JWS whose header `typ` names its kind, so one kind cannot pass for
 * another; beyond the signature, the claims that bind it to this session, license, machine or
 * request are checked here, and a failure is a LeaseholdError naming what did not hold.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { LeaseholdError, type VerificationCode } from './errors.ts';

/** A pinned key set, the URL of one (fetched and cached in memory), or a resolver made once. */
export type JwksSource = JSONWebKeySet | string | URL | JWTVerifyGetKey;

export interface VerifyOptions {
  jwks: JwksSource;
  /** The server's `LEASEHOLD_ISSUER` (default "leasehold"). */
  issuer?: string;
  /** Seconds of clock difference tolerated on `exp` and `iat` (default 60). */
  clockTolerance?: number;
  /** The time to check expiry against (default now). */
  currentDate?: Date;
}

export interface LeaseClaims extends JWTPayload {
  iss: string;
  /** The license id. */
  aud: string;
  /** The session id. */
  sub: string;
  /** The license id. */
  lic: string;
  /** The machine fingerprint the seat was acquired with. */
  fp: string;
  tier: string;
  features: string[];
  iat: number;
  /** When the lease ends unless renewed (seconds since the epoch). */
  exp: number;
  /** When the license itself expires, for licenses that do. */
  lexp?: number;
}

export interface CertificateClaims extends JWTPayload {
  iss: string;
  /** The license id. */
  aud: string;
  /** The license id. */
  sub: string;
  fp: string;
  status: string;
  tier: string;
  features: string[];
  maxSeats: number;
  maxMachines: number | null;
  leaseSeconds: number;
  iat: number;
  exp: number;
  lexp?: number;
}

export type ValidationCode =
  | 'VALID'
  | 'NOT_FOUND'
  | 'SUSPENDED'
  | 'REVOKED'
  | 'EXPIRED'
  | 'TOO_MANY_MACHINES'
  | 'FINGERPRINT_NOT_ACTIVATED'
  | 'ENTITLEMENTS_MISSING';

export interface ValidationClaims {
  [claim: string]: unknown;
  iss: string;
  /** The license id. */
  aud: string;
  sub: string;
  valid: boolean;
  code: ValidationCode;
  fp?: string;
  nonce: string;
  iat: number;
  exp: number;
  lexp?: number;
}

export const DEFAULT_ISSUER = 'leasehold';
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
// What the server's signers produce (local Ed25519 or P-256, Cloud KMS P-256 or RSA); nothing else.
const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'];

const remoteSets = new Map<string, JWTVerifyGetKey>();

/** Turns a JWKS option into a key resolver; a URL's resolver is made once and shared, with its cache. */
export function jwksResolver(source: JwksSource): JWTVerifyGetKey {
  if (typeof source === 'function') return source;
  if (typeof source === 'string' || source instanceof URL) {
    const href = new URL(source).href;
    let resolver = remoteSets.get(href);
    if (!resolver) {
      resolver = createRemoteJWKSet(new URL(href));
      remoteSets.set(href, resolver);
    }
    return resolver;
  }
  return createLocalJWKSet(source);
}

const kinds = {
  lease: { typ: 'lease+jwt', required: ['sub', 'lic', 'fp', 'iat', 'exp'] },
  certificate: { typ: 'license-certificate+jwt', required: ['sub', 'fp', 'iat', 'exp'] },
  validation: { typ: 'license-validation+jwt', required: ['code', 'valid', 'iat', 'exp'] },
} as const;

/** Every document names its license as `aud`: checked when the caller knows the license. */
async function verify<T>(token: string, kind: keyof typeof kinds, options: VerifyOptions & { licenseId?: string | undefined }): Promise<T> {
  const { typ, required } = kinds[kind];
  if (typeof token !== 'string' || token.split('.').length !== 3) throw new LeaseholdError('TOKEN_MALFORMED', `The ${kind} is not a compact JWS`);
  try {
    const { payload } = await jwtVerify(token, jwksResolver(options.jwks), {
      typ,
      issuer: options.issuer ?? DEFAULT_ISSUER,
      algorithms: ALGORITHMS,
      requiredClaims: [...required],
      clockTolerance: options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      ...(options.licenseId !== undefined ? { audience: options.licenseId } : {}),
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    });
    return payload as unknown as T;
  } catch (error) {
    throw verificationError(kind, error);
  }
}

function verificationError(kind: string, error: unknown): LeaseholdError {
  const refuse = (code: VerificationCode, message: string) => new LeaseholdError(code, message, { cause: error });
  if (error instanceof errors.JWTExpired) return refuse('TOKEN_EXPIRED', `The ${kind} has expired`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') return refuse('TOKEN_TYPE_MISMATCH', `The token is not a ${kind} (its typ header is not ${kinds[kind as keyof typeof kinds].typ})`);
    if (error.claim === 'iss') return refuse('ISSUER_MISMATCH', `The ${kind} was issued by another issuer`);
    if (error.claim === 'aud') return refuse('LICENSE_MISMATCH', `The ${kind} is for another license`);
    if (error.reason === 'missing') return refuse('CLAIM_MISSING', `The ${kind} has no "${error.claim}" claim`);
    if (error.claim === 'iat' || error.claim === 'nbf') return refuse('TOKEN_NOT_YET_VALID', `The ${kind} is not valid yet`);
    return refuse('CLAIM_MISSING', `The ${kind}'s "${error.claim}" claim is invalid`);
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSEAlgNotAllowed
  ) {
    return refuse('SIGNATURE_INVALID', `The ${kind} is not signed by a key of the license server's JWKS`);
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return refuse('TOKEN_MALFORMED', `The ${kind} is not a well-formed signed token`);
  }
  if (error instanceof errors.JWKSInvalid) return refuse('JWKS_UNAVAILABLE', 'The JWKS is not a valid key set');
  // Anything else came from fetching a remote JWKS: a timeout, a refused connection, a bad status.
  return refuse('JWKS_UNAVAILABLE', `The license server's JWKS could not be fetched to verify the ${kind}`);
}

/** A binding left out by a JavaScript caller would silently skip its check: refuse to verify instead. */
function required<O extends object>(fn: string, options: O, names: (keyof O & string)[]) {
  for (const name of names) if (!options?.[name]) throw new TypeError(`${fn}: \`${name}\` is required`);
}

function requireClaim(kind: string, claim: string, actual: unknown, expected: string | undefined, code: VerificationCode) {
  if (expected !== undefined && actual !== expected) {
    throw new LeaseholdError(code, `The ${kind}'s "${claim}" is not the one expected (${JSON.stringify(expected)})`);
  }
}

export interface VerifyLeaseOptions extends VerifyOptions {
  licenseId: string;
  fingerprint: string;
  /** The session the lease must belong to, when known. */
  sessionId?: string;
}

/** Checks a seat lease: signature, `typ` lease+jwt, `iss`, `exp`, and that it is this license's, this machine's (and this session's). */
export async function verifyLease(token: string, options: VerifyLeaseOptions): Promise<LeaseClaims> {
  required('verifyLease', options, ['licenseId', 'fingerprint']);
  const claims = await verify<LeaseClaims>(token, 'lease', options);
  requireClaim('lease', 'lic', claims.lic, options.licenseId, 'LICENSE_MISMATCH');
  requireClaim('lease', 'fp', claims.fp, options.fingerprint, 'FINGERPRINT_MISMATCH');
  requireClaim('lease', 'sub', claims.sub, options.sessionId, 'SESSION_MISMATCH');
  return claims;
}

export interface VerifyCertificateOptions extends VerifyOptions {
  licenseId: string;
  fingerprint: string;
}

/** Checks a license certificate (for apps that run offline): signature, `typ`, `iss`, `exp`, license and machine. */
export async function verifyCertificate(token: string, options: VerifyCertificateOptions): Promise<CertificateClaims> {
  required('verifyCertificate', options, ['licenseId', 'fingerprint']);
  const claims = await verify<CertificateClaims>(token, 'certificate', options);
  requireClaim('certificate', 'sub', claims.sub, options.licenseId, 'LICENSE_MISMATCH');
  requireClaim('certificate', 'fp', claims.fp, options.fingerprint, 'FINGERPRINT_MISMATCH');
  return claims;
}

export interface VerifyValidationOptions extends VerifyOptions {
  /** The nonce sent with the request this must be the answer to. */
  nonce: string;
  /** The fingerprint sent with the request, if one was. */
  fingerprint?: string;
  licenseId?: string;
}

/** Checks a signed validation answer, and that it answers the request that sent `nonce` (no replay). */
export async function verifyValidation(token: string, options: VerifyValidationOptions): Promise<ValidationClaims> {
  required('verifyValidation', options, ['nonce']);
  const claims = await verify<ValidationClaims>(token, 'validation', options);
  requireClaim('validation answer', 'nonce', claims.nonce, options.nonce, 'NONCE_MISMATCH');
  requireClaim('validation answer', 'fp', claims.fp, options.fingerprint, 'FINGERPRINT_MISMATCH');
  requireClaim('validation answer', 'sub', claims.sub, options.licenseId, 'LICENSE_MISMATCH');
  return claims;
}
