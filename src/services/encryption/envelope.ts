/**
 * Envelope encryption of the secrets the server stores (webhook signing secrets): each secret is
 * AES-256-GCM under a data key, and the data key is wrapped by a key encryption key that lives
 * in Cloud KMS (`encrypt`/`decrypt`) or in the configuration (the local key). A ciphertext carries
 * the id of the key that wrapped its data key and the wrapped data key itself, so keys can
 * rotate: what an older key wrapped opens while that key is configured, and `rewrap` moves it.
 *
 *   v2.<key id>.<wrapped data key>.<iv>.<ciphertext>     (base64url parts; the key id may hold dots)
 *   v1.<iv>.<ciphertext>                                  (before envelopes: directly under local key 1)
 *
 * The additional data of a v2 secret is its header (format, key id, wrapped data key) and the
 * caller's context (for a webhook secret: its row, its slot and the slot's expiry), so a
 * ciphertext opens only where it was sealed. A v1 ciphertext is bound to its context of old
 * (the row's id only) and opens as it always did.
 *
 * One data key per process and wrapping key: made at the first seal, wrapped once. Unwrapped data
 * keys are kept in memory (never logged, never leaving this module), so KMS sees one `encrypt` per
 * process and one `decrypt` per data key it has not met yet, not one per webhook attempt.
 */
import { base64url, fromBase64 } from '../../lib/encoding.ts';
import type { SecretBox } from '../context.ts';

/** A key encryption key of one kind (local keys, or Cloud KMS keys): wraps data keys. */
export interface KeyWrapper {
  /** Wraps with the current key: the id of the key (version) that did, and the wrapped bytes. */
  wrap(dataKey: Uint8Array, additionalData: Uint8Array): Promise<{ keyId: string; wrapped: Uint8Array }>;
  /** Whether a data key wrapped by `keyId` is one this wrapper may unwrap (a configured key). */
  holds(keyId: string): boolean;
  /** The data key, or throws SecretUnsealError. */
  unwrap(keyId: string, wrapped: Uint8Array, additionalData: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type UnsealFailure =
  /** The ciphertext names a key this server does not hold (retired, or another deployment's). */
  | 'unknown-key'
  /** The key is held but the ciphertext does not open where it is: tampered, moved or swapped. */
  | 'does-not-open'
  /** Not a ciphertext of any known format. */
  | 'malformed'
  /** The key service did not answer (KMS down): worth trying again. */
  | 'unavailable';

export class SecretUnsealError extends Error {
  constructor(
    readonly reason: UnsealFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SecretUnsealError';
  }
}

const encoder = new TextEncoder();
const DATA_KEY_PURPOSE = encoder.encode('leasehold data key v2');
const CACHE_LIMIT = 1000;

async function aesKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/**
 * `current` wraps new data keys; `others` only unwrap (the other kind, when moving between local
 * keys and KMS). `legacy`: local key 1, which v1 ciphertexts were sealed with directly.
 */
export function createEnvelope(options: {
  current: KeyWrapper;
  others: KeyWrapper[];
  legacy: Uint8Array<ArrayBuffer> | undefined;
}): SecretBox {
  const wrappers = [options.current, ...options.others];
  const legacyKey = options.legacy && aesKey(options.legacy);
  let sealing: Promise<{ header: string; key: CryptoKey; keyId: string }> | undefined;
  /** Unwrapped data keys by their ciphertext header; the promise is shared by concurrent opens. */
  const dataKeys = new Map<string, Promise<CryptoKey>>();

  const sealingKey = () => {
    sealing ??= (async () => {
      const raw = crypto.getRandomValues(new Uint8Array(32));
      const { keyId, wrapped } = await options.current.wrap(raw, DATA_KEY_PURPOSE);
      const header = `v2.${keyId}.${base64url(wrapped)}`;
      const key = await aesKey(raw);
      raw.fill(0);
      dataKeys.set(header, Promise.resolve(key));
      return { header, key, keyId };
    })();
    // A failed wrap (KMS away) is not remembered: the next seal tries again.
    sealing.catch(() => (sealing = undefined));
    return sealing;
  };

  const dataKeyOf = (header: string, keyId: string, wrapped: Uint8Array): Promise<CryptoKey> => {
    const known = dataKeys.get(header);
    if (known) return known;
    const wrapper = wrappers.find((w) => w.holds(keyId));
    if (!wrapper) return Promise.reject(new SecretUnsealError('unknown-key', `is wrapped by ${keyId}, which this server does not hold`));
    const unwrapping = wrapper.unwrap(keyId, wrapped, DATA_KEY_PURPOSE).then(async (raw) => {
      const key = await aesKey(raw as Uint8Array<ArrayBuffer>);
      raw.fill(0);
      return key;
    });
    if (dataKeys.size >= CACHE_LIMIT) dataKeys.delete(dataKeys.keys().next().value!);
    dataKeys.set(header, unwrapping);
    // Only keys that unwrapped stay: a KMS outage must not make a data key unopenable for good.
    unwrapping.catch(() => dataKeys.delete(header));
    return unwrapping;
  };

  const decrypt = async (key: CryptoKey, iv: string, ciphertext: string, additionalData: string) => {
    try {
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromBase64(iv), additionalData: encoder.encode(additionalData) },
        key,
        fromBase64(ciphertext),
      );
      return new TextDecoder().decode(plain);
    } catch (error) {
      throw new SecretUnsealError('does-not-open', 'does not decrypt here: altered, or moved from another endpoint or slot', {
        cause: error,
      });
    }
  };

  return {
    async seal(plaintext, context) {
      const { header, key } = await sealingKey();
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: encoder.encode(`${header}\n${context}`) },
        key,
        encoder.encode(plaintext),
      );
      return `${header}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
    },

    async open(sealed, context) {
      const parts = sealed.split('.');
      if (parts[0] === 'v1' && parts.length === 3) {
        if (!legacyKey)
          throw new SecretUnsealError(
            'unknown-key',
            'is a v1 ciphertext, and local key 1 (WEBHOOK_SECRET_KEY version 1) is not configured',
          );
        return decrypt(await legacyKey, parts[1]!, parts[2]!, context.legacy);
      }
      if (parts[0] !== 'v2' || parts.length < 5 || parts.some((p) => p === '')) {
        throw new SecretUnsealError('malformed', 'is not a ciphertext this server knows');
      }
      const [iv, ciphertext] = parts.slice(-2) as [string, string];
      const wrapped = parts.at(-3)!;
      const keyId = parts.slice(1, -3).join('.');
      const header = `v2.${keyId}.${wrapped}`;
      let wrappedBytes: Uint8Array;
      try {
        wrappedBytes = fromBase64(wrapped);
      } catch {
        throw new SecretUnsealError('malformed', 'has a wrapped data key that is not base64url');
      }
      return decrypt(await dataKeyOf(header, keyId, wrappedBytes), iv, ciphertext, `${header}\n${context.bound}`);
    },

    async isCurrent(sealed) {
      const { keyId } = await sealingKey();
      return sealed.startsWith(`v2.${keyId}.`) && sealed.split('.').length === keyId.split('.').length + 4;
    },

    async currentKeyId() {
      return (await sealingKey()).keyId;
    },

    keyIdOf(sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v1') return 'v1';
      return parts[0] === 'v2' && parts.length >= 5 ? parts.slice(1, -3).join('.') : 'unknown';
    },

    async close() {
      await Promise.all(wrappers.map((w) => w.close()));
    },
  };
}
