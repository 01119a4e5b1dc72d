/**
 * The dependencies every service receives, built once by the composition root (app.ts).
 * Per-request facts (who is calling, request id) travel separately as an `Actor`.
 */
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { PubSub } from '../redis/pubsub.ts';
import type { SeatStore } from '../redis/seatStore.ts';
import type { HeartbeatBuffer } from './heartbeatBuffer.ts';
import type { LicenseKeys } from './licenseKeys.ts';
import type { Logger } from './logger.ts';
import type { Signer } from './signing/signer.ts';

export interface ServiceContext {
  config: Config;
  db: Database;
  seats: SeatStore;
  pubsub: PubSub;
  signer: Signer;
  licenseKeys: LicenseKeys;
  heartbeats: HeartbeatBuffer;
  log: Logger;
}

/** Who performs an action, as the audit log records it. */
export interface Actor {
  type: 'operator' | 'license' | 'system';
  id: string | null;
  orgId: string;
  requestId: string | null;
}
