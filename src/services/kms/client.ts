/**
 * What every Cloud KMS caller here shares: the client (Google's endpoint, or a plaintext one for
 * tests and on-prem emulators), per-call deadlines, and the CRC32C and wire-format helpers the
 * integrity checks need. The client library checks no CRC32C field itself; each caller does.
 *
 * Imported only by the KMS signer and the KMS key wrapper, which app.ts loads lazily, so the gRPC
 * stack stays out of deployments that use neither.
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import crc32c from 'crc-32/crc32c.js';
import { GoogleAuth, createBackoffSettings, createRetryOptions, googleAuthLibrary, grpc, type CallOptions } from 'google-gax';
import { fromBase64 } from '../../lib/encoding.ts';

/** One attempt may hang on a dead connection; cut it short so a retry still fits the deadline. */
const ATTEMPT_TIMEOUT_MS = 2_000;

/** `endpoint`: `host:port` of a plaintext gRPC endpoint; default Google's. */
export function kmsClient(endpoint: string | undefined): KeyManagementServiceClient {
  return new KeyManagementServiceClient(endpoint ? plaintextEndpoint(endpoint) : {});
}

function plaintextEndpoint(endpoint: string) {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(endpoint);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new Error(`KMS endpoint "${endpoint}" is not host:port`);
  return {
    apiEndpoint: match[1]!,
    port,
    sslCreds: grpc.credentials.createInsecure(),
    // Without a pass-through auth client the library goes looking for Google credentials (env,
    // files, the metadata server) and fails or stalls when there are none.
    auth: new GoogleAuth({ authClient: new googleAuthLibrary.PassThroughClient() }),
  };
}

/**
 * Call options bounding one call, retries included. The library default retries UNAVAILABLE
 * for up to ten minutes, far longer than anyone waits. Only for calls without side effects
 * (signing, key reads, encrypting and decrypting), which are safe to retry.
 */
export function deadline(totalMs: number): CallOptions {
  const attemptMs = Math.min(ATTEMPT_TIMEOUT_MS, totalMs);
  // gax checks the deadline only after sleeping between attempts, so the longest sleep is how far
  // past the deadline a failing call can run; keep it to a tenth.
  const maxDelayMs = Math.min(500, Math.max(10, totalMs / 10));
  return {
    timeout: attemptMs,
    retry: createRetryOptions(
      [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED],
      createBackoffSettings(Math.min(50, maxDelayMs), 2, maxDelayMs, attemptMs, 1, attemptMs, totalMs),
    ),
  };
}

export function crc(data: Uint8Array): number {
  return crc32c.buf(data) >>> 0;
}

/** Int64Value: a string over gRPC (`{ value: '123' }`), a number or Long elsewhere. */
export function int64(field: { value?: number | string | { toString(): string } | null } | null | undefined): number | undefined {
  const value = field?.value;
  if (value === null || value === undefined) return undefined;
  const n = Number(typeof value === 'object' ? value.toString() : value);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function bytes(field: Uint8Array | string | null | undefined): Uint8Array {
  if (field == null) return new Uint8Array(0);
  if (typeof field !== 'string') return field;
  // protobuf's JSON form of `bytes` is base64.
  return fromBase64(field);
}
