/** Public IDs carry their type (`lic_…`, `ses_…`) and 22 uniformly random base62 characters (131 bits). */
import { BASE62 } from './encoding.ts';

export type IdPrefix =
  'org' | 'lic' | 'ses' | 'aud' | 'key' | 'usr' | 'rtk' | 'rtf' | 'whe' | 'evt' | 'whd' | 'wha' | 'qtk' | 'mdx' | 'uid' | 'anc';

const ID_CHARS = 22;

// Random bytes come from the system generator a pool at a time: each draw costs a few µs
// whatever its size (OpenSSL checks the pid and takes a lock), and an acquire makes several IDs.
const pool = new Uint8Array(4096);
let used = pool.length;

export function newId(prefix: IdPrefix): string {
  let id = `${prefix}_`;
  for (let chars = 0; chars < ID_CHARS;) {
    if (used === pool.length) {
      crypto.getRandomValues(pool);
      used = 0;
    }
    // Six bits per draw, 62 and 63 thrown away, so every character is equally likely.
    const sixBits = pool[used++]! & 63;
    if (sixBits < 62) {
      id += BASE62[sixBits];
      chars++;
    }
  }
  return id;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-Za-z]{22}$/;

/** True when `value` is shaped like an ID of this type; says nothing about whether it exists. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
