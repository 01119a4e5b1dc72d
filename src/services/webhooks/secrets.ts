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
 * At rest a secret is AES-256-GCM ciphertext under the server key (WEBHOOK_SECRET_KEY), bound
 * to its endpoint's id as additional data, so a ciphertext copied onto another row does not
 * decrypt.
 */
import { base64, base64url, fromBase64, hex } from '../../lib/encoding.ts';
import type { SecretBox } from '../context.ts';

const PREFIX = 'whsec_';
const FORMAT = 'v1';
const encoder = new TextEncoder();

export function generateWebhookSecret(): string {
  return PREFIX + base64(crypto.getRandomValues(new Uint8Array(32)));
}

/** The HMAC key of a `whsec_` secret: its base64 part, decoded. */
export function signingKeyOf(secret: string): Uint8Array<ArrayBuffer> {
  if (!secret.startsWith(PREFIX)) throw new Error('not a whsec_ secret');
  return fromBase64(secret.slice(PREFIX.length));
}

/** The server key (32 bytes, base64 or base64url) as an AES-256-GCM box. */
export async function createSecretBox(serverKey: string): Promise<SecretBox> {
  const raw = fromBase64(serverKey.trim());
  if (raw.length !== 32) throw new Error('the webhook secret key must be 32 bytes');
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return {
    async seal(secret, endpointId) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: encoder.encode(endpointId) },
        key,
        encoder.encode(secret),
      );
      return `${FORMAT}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
    },
    async open(sealed, endpointId) {
      const [format, iv, ciphertext] = sealed.split('.');
      if (format !== FORMAT || !iv || !ciphertext) throw new Error('unknown webhook secret format');
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromBase64(iv), additionalData: encoder.encode(endpointId) },
        key,
        fromBase64(ciphertext),
      );
      return new TextDecoder().decode(plain);
    },
  };
}

async function hmac(key: Uint8Array<ArrayBuffer>, message: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(message));
}

/** The signature headers of one attempt, computed when it is sent. `secrets`: every live secret, newest first. */
export async function signatureHeaders(
  secrets: string[],
  attempt: { eventId: string; timestamp: number; body: string },
): Promise<Record<string, string>> {
  const { eventId, timestamp, body } = attempt;
  const keys = secrets.map(signingKeyOf);
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
