/**
 * Cloud KMS as the key encryption key: data keys are wrapped with `encrypt` on a CryptoKey of
 * purpose ENCRYPT_DECRYPT (KMS_ENCRYPTION_KEY; KMS picks its primary version) and unwrapped with
 * `decrypt`. The key id stored with a ciphertext is the CryptoKeyVersion that `encrypt` names, so
 * after a rotation of the primary version `rewrap` can tell what is still under an older one.
 *
 * CRC32C both ways, as Google asks of callers (the client checks none): we send the checksums of
 * the plaintext, the additional data and the ciphertext, require KMS to confirm the ones it was
 * sent, and check the ones it returns, so a byte flipped on the wire in either direction is
 * refused instead of stored or used.
 */
import type { protos } from '@google-cloud/kms';
import { CRYPTO_KEY_NAME } from '../../config/config.ts';
import { SecretUnsealError, type KeyWrapper } from '../encryption/envelope.ts';
import { bytes, crc, deadline, int64, kmsClient } from './client.ts';

const DEADLINE_MS = 5_000;
const VERSION = /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions\/\d+$/;

/** `cryptoKeys`: CryptoKey names, the first wraps, every one unwraps what its versions wrapped. */
export function createKmsKeyWrapper(options: { cryptoKeys: string[]; endpoint: string | undefined; deadlineMs?: number }): KeyWrapper {
  const { cryptoKeys } = options;
  if (cryptoKeys.length === 0 || cryptoKeys.some((k) => !CRYPTO_KEY_NAME.test(k))) throw new Error('KMS key wrapper: CryptoKey names expected');
  const client = kmsClient(options.endpoint);
  const callOptions = deadline(options.deadlineMs ?? DEADLINE_MS);
  const cryptoKeyOf = (keyId: string) => VERSION.exec(keyId)?.[1];

  return {
    async wrap(dataKey, additionalData) {
      const name = cryptoKeys[0]!;
      let response: protos.google.cloud.kms.v1.IEncryptResponse;
      try {
        [response] = await client.encrypt(
          {
            name,
            plaintext: dataKey,
            plaintextCrc32c: { value: crc(dataKey) },
            additionalAuthenticatedData: additionalData,
            additionalAuthenticatedDataCrc32c: { value: crc(additionalData) },
          },
          callOptions,
        );
      } catch (error) {
        throw new SecretUnsealError('unavailable', `KMS could not encrypt with ${name}`, { cause: error });
      }
      if (response.verifiedPlaintextCrc32c !== true || response.verifiedAdditionalAuthenticatedDataCrc32c !== true) {
        throw new SecretUnsealError('unavailable', `KMS did not confirm the checksums sent to ${name}`);
      }
      const keyId = String(response.name ?? '');
      if (cryptoKeyOf(keyId) !== name) throw new SecretUnsealError('unavailable', `KMS answered for ${keyId}, not a version of ${name}`);
      const wrapped = bytes(response.ciphertext);
      if (int64(response.ciphertextCrc32c) !== crc(wrapped)) {
        throw new SecretUnsealError('unavailable', `KMS ciphertext from ${keyId} failed its checksum`);
      }
      return { keyId, wrapped };
    },

    holds(keyId) {
      const cryptoKey = cryptoKeyOf(keyId);
      return cryptoKey !== undefined && cryptoKeys.includes(cryptoKey);
    },

    async unwrap(keyId, wrapped, additionalData) {
      const name = cryptoKeyOf(keyId);
      if (!name || !cryptoKeys.includes(name))
        throw new SecretUnsealError('unknown-key', `is wrapped by ${keyId}, which this server does not hold`);
      let response: protos.google.cloud.kms.v1.IDecryptResponse;
      try {
        [response] = await client.decrypt(
          {
            name,
            ciphertext: wrapped,
            ciphertextCrc32c: { value: crc(wrapped) },
            additionalAuthenticatedData: additionalData,
            additionalAuthenticatedDataCrc32c: { value: crc(additionalData) },
          },
          callOptions,
        );
      } catch (error) {
        // INVALID_ARGUMENT is KMS saying the ciphertext does not decrypt (3 over gRPC, 400 over REST).
        const code = (error as { code?: number }).code;
        const reason = code === 3 || code === 400 ? 'does-not-open' : 'unavailable';
        throw new SecretUnsealError(reason, `has a data key that KMS could not decrypt with ${keyId}`, { cause: error });
      }
      const plaintext = bytes(response.plaintext);
      if (int64(response.plaintextCrc32c) !== crc(plaintext)) {
        throw new SecretUnsealError('unavailable', `has a data key whose plaintext from KMS (${name}) failed its checksum`);
      }
      return plaintext;
    },

    async close() {
      await client.close();
    },
  };
}
