/**
 * Password hashing with scrypt from @noble/hashes: pure JS, so the same code runs on Node, Bun
 * and Deno. Parameters travel inside the stored hash, so they can be raised later and old
 * hashes still verify.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { base64url, fromBase64 } from '../../lib/encoding.ts';
import { timingSafeEqual } from '../../lib/constantTime.ts';

/** log2(N) = 15, r = 8, p = 1: 32 MiB and ~160 ms per hash in JS on these machines. */
const DEFAULT = { log2N: 15, r: 8, p: 1 };

export async function hashPassword(password: string, params = DEFAULT): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await scryptAsync(password, salt, { N: 2 ** params.log2N, r: params.r, p: params.p, dkLen: 32 });
  return ['scrypt', params.log2N, params.r, params.p, base64url(salt), base64url(hash)].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, log2N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const computed = await scryptAsync(password, fromBase64(salt), { N: 2 ** Number(log2N), r: Number(r), p: Number(p), dkLen: 32 });
  return timingSafeEqual(base64url(computed), hash);
}

/** Verified against when the account does not exist, so a wrong email costs as long as a wrong password. */
export const DUMMY_PASSWORD_HASH = 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
