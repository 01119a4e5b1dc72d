/**
 * The dependencies every service receives, built once by the composition root (app.ts).
 * Per-request facts (who is calling, request id) travel separately as an `Actor`.
 */
import type { Config } from '../config/config.ts';
import type { Database } from '../db/client.ts';
import type { PubSub } from '../stores/pubsub/contract.ts';
import type { RateLimiter } from '../stores/rateLimits/contract.ts';
import type { SeatStore } from '../stores/seats/contract.ts';
import type { ApiKeyLookups } from './apiKeys/management.ts';
import type { HeartbeatBuffer } from './sessions/heartbeatBuffer.ts';
import type { LicenseKeys } from './licenses/licenseKeys.ts';
import type { Logger } from '../lib/logger.ts';
import type { AccessTokens } from './signing/accessTokens.ts';
import type { Signer } from '../lib/jws.ts';
import type { UsageRecorder } from './usage/recording.ts';
import type { SecretBox } from './webhooks/secrets.ts';

export interface ServiceContext {
  config: Config;
  db: Database;
  seats: SeatStore;
  pubsub: PubSub;
  signer: Signer;
  accessTokens: AccessTokens;
  rateLimiter: RateLimiter;
  licenseKeys: LicenseKeys;
  heartbeats: HeartbeatBuffer;
  /** Recent API-key lookups and the lastUsedAt buffer. */
  apiKeys: ApiKeyLookups;
  /** API-key usage counters. */
  usage: UsageRecorder;
  /** Encrypts and decrypts webhook signing secrets with the server key. */
  webhookSecrets: SecretBox;
  log: Logger;
}

/** Who performs an action, as the audit log records it. */
export interface Actor {
  type: 'operator' | 'user' | 'apiKey' | 'license' | 'system';
  id: string | null;
  orgId: string;
  requestId: string | null;
}
