/** Byte encodings used across the services: base62 ids and keys, base64(url), hex, SHA-256. */
import { Buffer } from 'node:buffer';

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The big-endian number in `bytes` as exactly `length` base62 digits (left-padded with 0). */
export function base62(bytes: Uint8Array, length: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

// Encoding goes through node:buffer, native on Node, Bun and Deno alike: a lease's base64url
// costs a few µs less per heartbeat than a btoa string round trip.
const view = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function base64(bytes: Uint8Array): string {
  return view(bytes).toString('base64');
}

export function base64url(bytes: Uint8Array): string {
  return view(bytes).toString('base64url');
}

/** Decodes base64 in either alphabet, padded or not; throws on other characters (atob is strict, Buffer is not). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  return (bytes instanceof Uint8Array ? view(bytes) : Buffer.from(bytes)).toString('hex');
}

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}
