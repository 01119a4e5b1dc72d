/**
 * A machine fingerprint as the seat path, validation and certificates take it: a stable id the
 * client app chooses, bounded so nobody can make the server store or sign a string of any length.
 * The user and process ids of the leasing strategies are ids of the same kind.
 */
import { InvalidInput } from '../errors.ts';

export const FINGERPRINT_MAX = 256;

/**
 * 1 to 256 characters without NUL: Postgres text cannot hold NUL, and the seat store joins ids
 * with it (lua/lib/holders.lua), so an id holding one could pass for another's.
 */
export function checkClientId(value: string, field: string): InvalidInput | undefined {
  if (value.length === 0 || value.length > FINGERPRINT_MAX || value.includes('\0')) {
    return new InvalidInput(`${field} must be 1 to ${FINGERPRINT_MAX} characters, without NUL`, field);
  }
  return undefined;
}

export const checkFingerprint = (fingerprint: string) => checkClientId(fingerprint, 'fingerprint');
