/**
 * License keys: `lhk_` + 27 base62 chars (160 random bits) + a 6-char checksum. The checksum is
 * an HMAC with the server secret, so a mistyped or forged key is refused without touching the
 * database. Postgres keeps only HMAC-SHA256(secret, key) as the lookup hash.
 *
 * The secret is versioned so that it can rotate without invalidating the keys already issued: a
 * key names the version of the secret that made it, and its checksum and lookup hash are made
 * with that version's secret. Version 1 is written without a marker (`lhk_<body><checksum>`), as
 * every key issued before versions existed is; version N > 1 as `lhk_N_<body><checksum>`, N in
 * decimal without leading zeros. One spelling per version: `lhk_1_…`, `lhk_02_…` are refused. A
 * key of a version this server does not hold (retired, or never configured) is refused like a
 * forged one, before any lookup.
 *
 * Resolving a key to its license happens on every seat operation, so resolutions are cached in
 * process: a key never changes license, and everything about a license that can change lives
 * in the seat store, which every operation reads anyway.
 */
import { SECRET_VERSION_MAX } from '../../config/config.ts';
import { timingSafeEqual } from '../../lib/constantTime.ts';
import { base62, hex } from '../../lib/encoding.ts';
import type { LicenseKeys, ResolvedKey } from '../context.ts';

const PREFIX = 'lhk_';
const BODY_LENGTH = 27;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = new RegExp(`^${PREFIX}(?:([1-9][0-9]{0,${String(SECRET_VERSION_MAX).length - 1}})_)?([0-9A-Za-z]{${BODY_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);
const CACHE_LIMIT = 100_000;

/** The version that unmarked keys belong to: the secret before versions existed. */
const UNMARKED_VERSION = 1;

export interface LicenseKeySecret {
  version: number;
  secret: string;
}

const encoder = new TextEncoder();

interface VersionedMac {
  checksum(body: string): Promise<string>;
  lookup(key: string): Promise<string>;
}

async function versionedMac({ version, secret }: LicenseKeySecret): Promise<VersionedMac> {
  const hmacKey = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = (purpose: string, value: string) => crypto.subtle.sign('HMAC', hmacKey, encoder.encode(`${purpose}:${value}`));
  // Version 1's checksum input is the one keys were made with before versions: unchanged, so they still check.
  const checksumInput = (body: string) => (version === UNMARKED_VERSION ? body : `${version}:${body}`);
  return {
    checksum: async (body) => base62(new Uint8Array(await mac('checksum', checksumInput(body))).slice(0, 5), CHECKSUM_LENGTH),
    lookup: async (key) => hex(await mac('lookup', key)),
  };
}

/**
 * `current` makes new keys; keys of `current` and of every version in `accepted` are recognised
 * (the older versions until they are retired, and the next one before it becomes current).
 */
export async function createLicenseKeys(current: LicenseKeySecret, accepted: LicenseKeySecret[] = []): Promise<LicenseKeys> {
  const macs = new Map<number, VersionedMac>();
  for (const secret of [current, ...accepted]) {
    if (!Number.isInteger(secret.version) || secret.version < 1 || secret.version > SECRET_VERSION_MAX) {
      throw new Error(`license-key secret version ${secret.version} is not an integer from 1 to ${SECRET_VERSION_MAX}`);
    }
    if (macs.has(secret.version)) throw new Error(`license-key secret version ${secret.version} is given twice`);
    macs.set(secret.version, await versionedMac(secret));
  }
  const currentMac = macs.get(current.version)!;
  const marker = current.version === UNMARKED_VERSION ? '' : `${current.version}_`;
  const cache = new Map<string, ResolvedKey>();

  return {
    async generate() {
      const body = base62(crypto.getRandomValues(new Uint8Array(20)), BODY_LENGTH);
      const key = PREFIX + marker + body + (await currentMac.checksum(body));
      return { key, hash: await currentMac.lookup(key), hint: key.slice(-4) };
    },
    async lookupHash(key) {
      const match = KEY_PATTERN.exec(key);
      if (!match) return undefined;
      const [, versionText, body, checksum] = match;
      // A marker for version 1 would be a second spelling of an unmarked key.
      if (versionText === String(UNMARKED_VERSION)) return undefined;
      const mac = macs.get(versionText === undefined ? UNMARKED_VERSION : Number(versionText));
      if (!mac) return undefined;
      if (!timingSafeEqual(await mac.checksum(body!), checksum!)) return undefined;
      return mac.lookup(key);
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
