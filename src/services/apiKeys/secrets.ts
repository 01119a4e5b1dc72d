/**
 * API key secrets: `pk_live_…` / `pk_test_…` followed by 43 base64url characters (32 random
 * bytes). Postgres keeps only the SHA-256 of the whole secret and its last four characters:
 * the secret carries 256 random bits, so a fast hash is as safe as a slow one and lets every
 * request be checked with one indexed lookup. The secret is shown once, at creation or rotation.
 */
import type { ApiKeyRow } from '../../db/rows.ts';
import { base64url, sha256Hex } from '../../lib/encoding.ts';

export type ApiKeyEnvironment = ApiKeyRow['environment'];

export const SECRET_PATTERN = /^pk_(live|test)_[A-Za-z0-9_-]{43}$/;

/** API key secrets carry 256 random bits, so a fast hash is right (a slow one would only cost requests). */
export const hashApiKeySecret = sha256Hex;

export async function generateSecret(environment: ApiKeyEnvironment) {
  const secret = `pk_${environment}_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { secret, hash: await hashApiKeySecret(secret), hint: secret.slice(-4) };
}
