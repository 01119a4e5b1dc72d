/**
 * Webhook signing secrets: made here, kept encrypted at rest, and used to sign each attempt.
 *
 * A secret is `whsec_` + base64 of 32 random bytes, the Standard Webhooks format. Both signature
 * headers use the same HMAC key, the base64-decoded bytes after `whsec_` (what the
 * `standardwebhooks` libraries derive from the secret), so a receiver that holds the secret can
 * check either header:
 *   X-Webhook-Signature  hex HMAC-SHA256(key, `${timestamp}.${eventId}.${body}`)
 *   webhook-signature    `v1,` + base64 HMAC-SHA256(key, `${eventId}.${timestamp}.${body}`)
 * During a rotation every live secret signs: the values are space-separated, newest first, in
 * both headers, and a receiver accepts the attempt when any one of them verifies.
 *
 * At rest a secret is sealed by the envelope (encryption/envelope.ts: a data key wrapped by Cloud
 * KMS or the local key), bound to its endpoint, slot and expiry.
 */
import { base64, fromBase64, hex } from '../../lib/encoding.ts';
import type { SecretBox } from '../context.ts';

const PREFIX = 'whsec_';
const encoder = new TextEncoder();

export function generateWebhookSecret(): string {
  return PREFIX + base64(crypto.getRandomValues(new Uint8Array(32)));
}

/** The HMAC key of a `whsec_` secret: its base64 part, decoded. */
export function signingKeyOf(secret: string): Uint8Array<ArrayBuffer> {
  if (!secret.startsWith(PREFIX)) throw new Error('not a whsec_ secret');
  return fromBase64(secret.slice(PREFIX.length));
}

/**
 * Which of an endpoint's secrets a ciphertext holds: the current one, or the replaced one that
 * signs beside it until `expiresAt`. Sealed into the additional data with the endpoint's id, so a
 * ciphertext opens only in its own row and slot with its own expiry: swapping the current and
 * the retired secret, moving one to another endpoint, or stretching the overlap fails to decrypt.
 */
export type SecretSlot = { slot: 'current' } | { slot: 'previous'; expiresAt: Date };

function slotContext(endpointId: string, slot: SecretSlot) {
  const expiry = slot.slot === 'previous' ? String(slot.expiresAt.getTime()) : '';
  // v1 ciphertexts, made before slots, were bound to the endpoint's id alone.
  return { bound: `webhook-endpoint-secret\n${endpointId}\n${slot.slot}\n${expiry}`, legacy: endpointId };
}

export function sealEndpointSecret(box: SecretBox, secret: string, endpointId: string, slot: SecretSlot): Promise<string> {
  return box.seal(secret, slotContext(endpointId, slot).bound);
}

/** Throws SecretUnsealError (encryption/envelope.ts) when it does not open there. */
export function openEndpointSecret(box: SecretBox, sealed: string, endpointId: string, slot: SecretSlot): Promise<string> {
  return box.open(sealed, slotContext(endpointId, slot));
}

/** The HMAC key a secret signs with, for signatureHeaders. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', signingKeyOf(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

const hmac = (key: CryptoKey, message: string) => crypto.subtle.sign('HMAC', key, encoder.encode(message));

/** The signature headers of one attempt, computed when it is sent. `keys`: the hmacKey of every live secret, newest first. */
export async function signatureHeaders(
  keys: CryptoKey[],
  attempt: { eventId: string; timestamp: number; body: string },
): Promise<Record<string, string>> {
  const { eventId, timestamp, body } = attempt;
  const legacy = await Promise.all(keys.map(async (key) => hex(await hmac(key, `${timestamp}.${eventId}.${body}`))));
  const standard = await Promise.all(
    keys.map(async (key) => `v1,${base64(new Uint8Array(await hmac(key, `${eventId}.${timestamp}.${body}`)))}`),
  );
  return {
    'X-Webhook-Event-ID': eventId,
    'X-Webhook-Timestamp': String(timestamp),
    'X-Webhook-Signature': legacy.join(' '),
    'webhook-id': eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': standard.join(' '),
  };
}
