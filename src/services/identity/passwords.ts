/**
 * Password hashing with scrypt, through node:crypto (native on Node, Bun and Deno, and off the
 * event loop). Parameters travel inside the stored hash, so older hashes still verify and are
 * replaced at the next sign-in.
 */
import { scrypt } from 'node:crypto';
import { base64url, fromBase64 } from '../../lib/encoding.ts';
import { timingSafeEqual } from '../../lib/constantTime.ts';

interface Params {
  log2N: number;
  r: number;
  p: number;
}

/**
 * The work of OWASP's scrypt minimum (N = 2^17, r = 8, p = 1) as N = 2^15, p = 4: the same
 * computation in a quarter of the memory (32 MiB a hash), so a burst of sign-ins cannot
 * exhaust the server's.
 */
export const PASSWORD_PARAMS: Params = { log2N: 15, r: 8, p: 4 };

function derive(password: string, salt: Uint8Array, { log2N, r, p }: Params): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    // 128·N·r bytes of work space, with room for the bookkeeping node:crypto counts in.
    scrypt(password, salt, 32, { N: 2 ** log2N, r, p, maxmem: 256 * 2 ** log2N * r }, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    ),
  );
}

export async function hashPassword(password: string, params = PASSWORD_PARAMS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, params);
  return ['scrypt', params.log2N, params.r, params.p, base64url(salt), base64url(hash)].join('$');
}

function parse(stored: string): (Params & { salt: string; hash: string }) | undefined {
  const [scheme, log2N, r, p, salt, hash] = stored.split('$');
  const params = { log2N: Number(log2N), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !hash || !Object.values(params).every((n) => Number.isInteger(n) && n > 0)) return undefined;
  return { ...params, salt, hash };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  return timingSafeEqual(base64url(await derive(password, fromBase64(parsed.salt), parsed)), parsed.hash);
}

/** A hash made with other parameters than today's, to be made again once its password is known. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.log2N !== PASSWORD_PARAMS.log2N || parsed.r !== PASSWORD_PARAMS.r || parsed.p !== PASSWORD_PARAMS.p;
}

/** Verified against when the account does not exist, so a wrong email costs as long as a wrong password. */
export const DUMMY_PASSWORD_HASH = `scrypt$${PASSWORD_PARAMS.log2N}$${PASSWORD_PARAMS.r}$${PASSWORD_PARAMS.p}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
