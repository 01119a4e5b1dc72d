/**
 * License keys: `lhk_` + 27 base62 chars (160 random bits) + a 6-char checksum. The checksum is
 * an HMAC with the server secret, so a mistyped or forged key is refused without touching the
 * database. Postgres keeps only HMAC-SHA256(secret, key) as the lookup hash.
 *
 * Resolving a key to its license happens on every seat operation, so resolutions are cached in
 * process: a key never changes license, and everything about a license that can change lives
 * in the seat store, which every operation reads anyway.
 */
import { timingSafeEqual } from '../../lib/constantTime.ts';
import { base62, hex } from '../../lib/encoding.ts';
import type { LicenseKeys, ResolvedKey } from '../context.ts';

const PREFIX = 'lhk_';
const BODY_LENGTH = 27;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = new RegExp(`^${PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);
const CACHE_LIMIT = 100_000;

const encoder = new TextEncoder();

export async function createLicenseKeys(secret: string): Promise<LicenseKeys> {
  const hmacKey = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = (purpose: string, value: string) => crypto.subtle.sign('HMAC', hmacKey, encoder.encode(`${purpose}:${value}`));
  const checksum = async (body: string) => base62(new Uint8Array(await mac('checksum', body)).slice(0, 5), CHECKSUM_LENGTH);
  const cache = new Map<string, ResolvedKey>();

  return {
    async generate() {
      const body = base62(crypto.getRandomValues(new Uint8Array(20)), BODY_LENGTH);
      const key = PREFIX + body + (await checksum(body));
      return { key, hash: hex(await mac('lookup', key)), hint: key.slice(-4) };
    },
    async isWellFormed(key) {
      if (!KEY_PATTERN.test(key)) return false;
      const body = key.slice(PREFIX.length, PREFIX.length + BODY_LENGTH);
      const expected = await checksum(body);
      return timingSafeEqual(expected, key.slice(PREFIX.length + BODY_LENGTH));
    },
    async hash(key) {
      return hex(await mac('lookup', key));
    },
    cached(key) {
      return cache.get(key);
    },
    remember(key, resolved) {
      // Map keeps insertion order: dropping the first entry evicts the oldest.
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(key, resolved);
    },
  };
}
