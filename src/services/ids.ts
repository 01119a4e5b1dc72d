/** Public IDs carry their type (`lic_…`, `ses_…`) and 128 random bits in base62. */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export type IdPrefix = 'org' | 'lic' | 'ses' | 'aud' | 'key' | 'usr' | 'rtk' | 'rtf' | 'whe' | 'evt' | 'whd' | 'wha';

export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return `${prefix}_${out.padStart(22, '0')}`;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-Za-z]{22}$/;

/** True when `value` is shaped like an ID of this type; says nothing about whether it exists. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
