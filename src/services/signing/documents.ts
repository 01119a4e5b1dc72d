/**
 * Signing what the server hands out (leases, certificates, validation answers) with the
 * configured signer. Each document carries its kind in the `typ` header and the license it is
 * for as its audience (`aud`), so neither a document of another kind nor one of another license
 * passes a verifier's checks. A signer outage answers SERVICE_UNAVAILABLE; nothing half-issued
 * escapes.
 */
import type { ServiceContext } from '../context.ts';
import { serviceUnavailable } from '../errors.ts';
import { SignerUnavailableError, signToken, type DocumentType, type SignedToken } from '../../lib/jws.ts';

export type SignedDocument = SignedToken & { expiresAt: Date };

/** Signs `claims` as a document of `type` for `audience`, with `iss`, `aud` and `exp` (seconds) added. */
export async function signDocument(
  ctx: ServiceContext,
  document: { type: DocumentType; audience: string; claims: Record<string, unknown>; expiresAtSeconds: number },
): Promise<SignedDocument> {
  const { type, audience, claims, expiresAtSeconds } = document;
  try {
    const token = await signToken(ctx.signer, type, { iss: ctx.config.issuer, aud: audience, ...claims, exp: expiresAtSeconds });
    return { ...token, expiresAt: new Date(expiresAtSeconds * 1000) };
  } catch (error) {
    if (error instanceof SignerUnavailableError) throw serviceUnavailable('The signing service', error);
    throw error;
  }
}
