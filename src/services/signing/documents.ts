/**
 * Signing what the server hands out (leases, certificates, validation answers) with the
 * configured signer. A signer outage answers SERVICE_UNAVAILABLE; nothing half-issued escapes.
 */
import type { ServiceContext } from '../context.ts';
import { serviceUnavailable } from '../errors.ts';
import { SignerUnavailableError, signToken, type SignedToken } from '../../lib/jws.ts';

export type SignedDocument = SignedToken & { expiresAt: Date };

/** Signs `payload` with `iss` and `exp` (seconds) added. */
export async function signDocument(
  ctx: ServiceContext,
  payload: Record<string, unknown>,
  expiresAtSeconds: number,
): Promise<SignedDocument> {
  try {
    const token = await signToken(ctx.signer, { iss: ctx.config.issuer, ...payload, exp: expiresAtSeconds });
    return { ...token, expiresAt: new Date(expiresAtSeconds * 1000) };
  } catch (error) {
    if (error instanceof SignerUnavailableError) throw serviceUnavailable('The signing service', error);
    throw error;
  }
}
