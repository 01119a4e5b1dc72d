/** Public IDs carry their type (`lic_…`, `ses_…`) and 128 random bits in base62. */
import { base62 } from './encoding.ts';

export type IdPrefix = 'org' | 'lic' | 'ses' | 'aud' | 'key' | 'usr' | 'rtk' | 'rtf' | 'whe' | 'evt' | 'whd' | 'wha';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${base62(crypto.getRandomValues(new Uint8Array(16)), 22)}`;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-Za-z]{22}$/;

/** True when `value` is shaped like an ID of this type; says nothing about whether it exists. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
