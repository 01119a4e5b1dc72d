/**
 * Offline trust: license certificates and signed validation answers. Both are compact JWS
 * that apps verify against /.well-known/jwks.json without calling the server again.
 *
 * `validateLicense` is anonymous, so what it signs is bounded: only answers about a license this
 * server issued are signed (an unknown key gets an unsigned NOT_FOUND), and the caller's
 * fingerprint and nonce have a maximum length.
 */
import { and, count, eq } from 'drizzle-orm';
import { licenses, machines } from '../../db/schema.ts';
import type { LicenseRow } from '../../db/rows.ts';
import type { SeatCaller, ServiceContext } from '../context.ts';
import { err, InvalidInput, ok, type Result } from '../errors.ts';
import { resolveLicenseKey } from './licenses.ts';
import { checkFingerprint } from './fingerprints.ts';
import { signDocument, type SignedDocument } from '../signing/documents.ts';
import { databaseWork } from '../database.ts';
import { DocumentType } from '../../lib/jws.ts';

/** How long an app may run offline on one certificate before it must fetch a new one. */
export const CERTIFICATE_TTL_SECONDS = 7 * 86_400;
/** A validation answer is evidence of one moment, so it lives briefly. */
const VALIDATION_TTL_SECONDS = 300;
/** Room for any random nonce (32 bytes are 43 base64url characters), not for a document. */
export const NONCE_MAX = 128;
const ENTITLEMENTS_MAX = 200;
const ENTITLEMENT_MAX = 64;

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * A certificate of the license for one machine (`fp`), for an app that runs offline: callers
 * hand it out only to an activated machine of the license (see seats/certificates.ts).
 */
export function licenseCertificate(ctx: ServiceContext, license: LicenseRow, fingerprint: string): Promise<SignedDocument> {
  const iat = Math.floor(ctx.clock.now() / 1000);
  const ttlEnd = iat + CERTIFICATE_TTL_SECONDS;
  const exp = license.expiresAt ? Math.min(ttlEnd, seconds(license.expiresAt)) : ttlEnd;
  return signDocument(ctx, {
    type: DocumentType.certificate,
    audience: license.id,
    claims: {
      sub: license.id,
      fp: fingerprint,
      status: license.status,
      tier: license.tier,
      features: license.features,
      maxSeats: license.maxSeats,
      maxMachines: license.maxMachines,
      leaseSeconds: license.leaseSeconds,
      ...(license.expiresAt ? { lexp: seconds(license.expiresAt) } : {}),
      iat,
    },
    expiresAtSeconds: exp,
  });
}

export const ValidationCode = {
  VALID: 'VALID',
  NOT_FOUND: 'NOT_FOUND',
  REVOKED: 'REVOKED',
  SUSPENDED: 'SUSPENDED',
  EXPIRED: 'EXPIRED',
  TOO_MANY_MACHINES: 'TOO_MANY_MACHINES',
  FINGERPRINT_NOT_ACTIVATED: 'FINGERPRINT_NOT_ACTIVATED',
  ENTITLEMENTS_MISSING: 'ENTITLEMENTS_MISSING',
} as const;
export type ValidationCode = (typeof ValidationCode)[keyof typeof ValidationCode];

export interface ValidationInput {
  licenseKey: string;
  fingerprint?: string | null;
  /** Features the caller needs; any one missing answers ENTITLEMENTS_MISSING. */
  entitlements?: string[] | null;
  nonce?: string | null;
}

export interface LicenseValidation {
  valid: boolean;
  code: ValidationCode;
  license: LicenseRow | null;
  missingEntitlements: string[];
  /** The answer signed, for a license this server issued; none for an unknown key. */
  signed: SignedDocument | null;
}

function checkValidationInput(input: ValidationInput): InvalidInput | undefined {
  if (input.fingerprint != null) {
    const invalid = checkFingerprint(input.fingerprint);
    if (invalid) return invalid;
  }
  if (input.nonce != null && (input.nonce.length === 0 || input.nonce.length > NONCE_MAX)) {
    return new InvalidInput(`nonce must be 1 to ${NONCE_MAX} characters`, 'nonce');
  }
  const entitlements = input.entitlements ?? [];
  if (entitlements.length > ENTITLEMENTS_MAX || entitlements.some((e) => e.length === 0 || e.length > ENTITLEMENT_MAX)) {
    return new InvalidInput(`at most ${ENTITLEMENTS_MAX} entitlements of 1 to ${ENTITLEMENT_MAX} characters`, 'entitlements');
  }
  return undefined;
}

/** Checks in a fixed order: not found → revoked → suspended → expired → machine → entitlements. */
async function decide(
  ctx: ServiceContext,
  input: ValidationInput,
  license: LicenseRow | undefined,
): Promise<{ code: ValidationCode; missing: string[] }> {
  if (!license) return { code: 'NOT_FOUND', missing: [] };
  if (license.status === 'REVOKED') return { code: 'REVOKED', missing: [] };
  if (license.status === 'SUSPENDED') return { code: 'SUSPENDED', missing: [] };
  if (license.expiresAt && license.expiresAt.getTime() <= ctx.clock.now()) return { code: 'EXPIRED', missing: [] };
  if (input.fingerprint != null) {
    const [activated] = await databaseWork(() =>
      ctx.db
        .select({ n: count() })
        .from(machines)
        .where(and(eq(machines.licenseId, license.id), eq(machines.fingerprint, input.fingerprint!))),
    );
    if (!activated?.n) {
      const [all] = await databaseWork(() => ctx.db.select({ n: count() }).from(machines).where(eq(machines.licenseId, license.id)));
      const full = license.maxMachines !== null && (all?.n ?? 0) >= license.maxMachines;
      return { code: full ? 'TOO_MANY_MACHINES' : 'FINGERPRINT_NOT_ACTIVATED', missing: [] };
    }
  }
  const missing = (input.entitlements ?? []).filter((e) => !license.features.includes(e));
  return { code: missing.length > 0 ? 'ENTITLEMENTS_MISSING' : 'VALID', missing };
}

/** Checks a license and answers signed; each check of a license this server issued goes to the verification log. */
export async function validateLicense(
  ctx: ServiceContext,
  input: ValidationInput,
  caller: SeatCaller,
): Promise<Result<LicenseValidation, InvalidInput>> {
  const invalid = checkValidationInput(input);
  if (invalid) return err(invalid);
  const resolved = await resolveLicenseKey(ctx, input.licenseKey);
  const license = resolved
    ? (await databaseWork(() => ctx.db.select().from(licenses).where(eq(licenses.id, resolved.licenseId))))[0]
    : undefined;
  const { code, missing } = await decide(ctx, input, license);
  if (!license) return ok({ valid: false, code, license: null, missingEntitlements: missing, signed: null });
  const iat = Math.floor(ctx.clock.now() / 1000);
  const signed = await signDocument(ctx, {
    type: DocumentType.validation,
    audience: license.id,
    claims: {
      sub: license.id,
      code,
      valid: code === 'VALID',
      ...(input.fingerprint != null ? { fp: input.fingerprint } : {}),
      ...(input.nonce != null ? { nonce: input.nonce } : {}),
      ...(license.expiresAt ? { lexp: seconds(license.expiresAt) } : {}),
      iat,
    },
    expiresAtSeconds: iat + VALIDATION_TTL_SECONDS,
  });
  ctx.verifications.record({
    licenseId: license.id,
    at: new Date(ctx.clock.now()),
    operation: 'validateLicense',
    result: code,
    address: caller.clientIp,
    origin: caller.origin,
    fingerprint: input.fingerprint ?? null,
  });
  return ok({ valid: code === 'VALID', code, license, missingEntitlements: missing, signed });
}
