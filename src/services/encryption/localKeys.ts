/**
 * Local key encryption keys: AES-256-GCM keys from the configuration (WEBHOOK_SECRET_KEY, version
 * WEBHOOK_SECRET_KEY_VERSION, and the other versions as WEBHOOK_SECRET_KEY_<N>), or key 1
 * generated into the data directory. A data key wrapped by version N names `local:N`.
 */
import { fromBase64 } from '../../lib/encoding.ts';
import { SecretUnsealError, type KeyWrapper } from './envelope.ts';

export interface LocalKey {
  version: number;
  /** 32 bytes, base64 or base64url. */
  key: string;
}

const localKeyId = (version: number) => `local:${version}`;

export function localKeyBytes(key: string): Uint8Array<ArrayBuffer> {
  const raw = fromBase64(key.trim());
  if (raw.length !== 32) throw new Error('a local encryption key must be 32 bytes');
  return raw;
}

/** `currentVersion` wraps; every key in `keys` unwraps. */
export async function createLocalKeyWrapper(keys: LocalKey[], currentVersion: number): Promise<KeyWrapper> {
  const byId = new Map<string, CryptoKey>();
  for (const { version, key } of keys) {
    byId.set(localKeyId(version), await crypto.subtle.importKey('raw', localKeyBytes(key), 'AES-GCM', false, ['encrypt', 'decrypt']));
  }
  const currentId = localKeyId(currentVersion);
  const current = byId.get(currentId);
  return {
    async wrap(dataKey, additionalData) {
      if (!current) throw new Error(`no local key ${currentId} to wrap with`);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: additionalData as Uint8Array<ArrayBuffer> },
          current,
          dataKey as Uint8Array<ArrayBuffer>,
        ),
      );
      const wrapped = new Uint8Array(iv.length + sealed.length);
      wrapped.set(iv);
      wrapped.set(sealed, iv.length);
      return { keyId: currentId, wrapped };
    },
    holds(keyId) {
      return byId.has(keyId);
    },
    async unwrap(keyId, wrapped, additionalData) {
      const key = byId.get(keyId);
      if (!key) throw new SecretUnsealError('unknown-key', `is wrapped by ${keyId}, which this server does not hold`);
      try {
        const raw = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: wrapped.slice(0, 12), additionalData: additionalData as Uint8Array<ArrayBuffer> },
          key,
          wrapped.slice(12),
        );
        return new Uint8Array(raw);
      } catch (error) {
        throw new SecretUnsealError('does-not-open', `has a data key that does not unwrap with ${keyId}`, { cause: error });
      }
    },
    async close() {},
  };
}
