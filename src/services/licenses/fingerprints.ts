/**
 * A machine fingerprint as the seat path, validation and certificates take it: a stable id the
 * client app chooses, bounded so nobody can make the server store or sign a string of any length.
 */
import { InvalidInput } from '../errors.ts';

export const FINGERPRINT_MAX = 256;

export function checkFingerprint(fingerprint: string): InvalidInput | undefined {
  if (fingerprint.length === 0 || fingerprint.length > FINGERPRINT_MAX) {
    return new InvalidInput(`fingerprint must be 1 to ${FINGERPRINT_MAX} characters`, 'fingerprint');
  }
  return undefined;
}
