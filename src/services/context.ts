/**
 * The dependencies every service receives, built once by the composition root (app.ts), and
 * the shape of each. The ports are declared here and implemented in the domain folders, so
 * this file depends on nothing above config, db, stores and lib, and any domain may import it.
 * Per-request facts (who is calling, request id) travel separately as an `Actor`.
 */
import type { JWTPayload } from 'jose';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/client.ts';
import type { ApiKeyRow } from '../db/rows.ts';
import type { BatchBuffer } from '../lib/batchBuffer.ts';
import type { Clock } from '../lib/clock.ts';
import type { Signer } from '../lib/jws.ts';
import type { Logger } from '../lib/logger.ts';
import type { MeterStore } from '../stores/meters/contract.ts';
import type { PubSub } from '../stores/pubsub/contract.ts';
import type { RateLimiter } from '../stores/rateLimits/contract.ts';
import type { QueueStatus, SeatCount, SeatStore } from '../stores/seats/contract.ts';
import type { ErrorCode, RequestErrorCode } from './errors.ts';
import type { SeatRateLimit } from './rateLimits.ts';

export interface ServiceContext {
  config: Config;
  clock: Clock;
  db: Database;
  seats: SeatStore;
  meters: MeterStore;
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
  /** Recorded meter usage and its events, waiting to be written to Postgres (meters/usageLog.ts). */
  meterUsage: MeterUsageLog;
  /** Hears how every seat operation ended (seats/outcomes.ts). */
  seatOutcomes: SeatOutcomes;
  /** Resolves a webhook receiver's name, once per delivery (webhooks/transport.ts). */
  resolveHost: HostResolver;
  log: Logger;
}

/** The addresses a host name resolves to (IPv4 and IPv6, as the resolver answers them). */
export type HostResolver = (hostname: string) => Promise<string[]>;

/** Who performs an action, as the audit log records it. */
export interface Actor {
  type: 'operator' | 'user' | 'apiKey' | 'license' | 'system';
  id: string | null;
  orgId: string;
  requestId: string | null;
}

/** License keys: made, checked and hashed with the server secret (licenses/licenseKeys.ts). */
export interface LicenseKeys {
  generate(): Promise<{ key: string; hash: string; hint: string }>;
  /** False for anything that is not a key this server issued (shape or checksum wrong). */
  isWellFormed(key: string): Promise<boolean>;
  hash(key: string): Promise<string>;
  cached(key: string): ResolvedKey | undefined;
  remember(key: string, resolved: ResolvedKey): void;
}

export interface ResolvedKey {
  licenseId: string;
  orgId: string;
}

/** Heartbeats waiting to be written to Postgres in one statement (sessions/heartbeatBuffer.ts). */
export interface HeartbeatBuffer {
  record(sessionId: string, at: Date, expiresAt: Date): void;
  flush(): Promise<number>;
}

/** Recently resolved API keys by secret hash, and lastUsedAt times waiting to be written (apiKeys/lookups.ts). */
export interface ApiKeyLookups {
  readonly ttlMs: number;
  get(hash: string, now: number): ApiKeyRow | undefined;
  set(hash: string, key: ApiKeyRow, now: number): void;
  /** Drops every cached secret of this key. */
  forget(keyId: string): void;
  /** key id → last use; flushed to api_keys.last_used_at in one statement. */
  readonly lastUsed: BatchBuffer<string, Date>;
}

/** One request of an API key, as the usage counters see it. */
export interface UsageEvent {
  orgId: string;
  apiKeyId: string;
  tier: string;
  clientIp: string;
  latencyMs: number;
  /** The response carried errors or a non-2xx status. */
  error: boolean;
  rateLimited: boolean;
  at?: Date;
}

/** API-key usage counters (usage/recording.ts). */
export interface UsageRecorder {
  record(event: UsageEvent): void;
  /** Pushes what was recorded to the usage store, then writes changed day totals to Postgres. */
  flush(): Promise<void>;
}

/** A usage the meter store took, as Postgres records it. */
export interface RecordedUsage {
  orgId: string;
  licenseId: string;
  meter: string;
  period: string;
  amount: number;
  used: number;
  idempotencyKey: string;
  metadata: unknown;
  recordedAt: Date;
}

/**
 * Meter usage and the `meter.*` events it causes, buffered off the request path and written
 * in one transaction per flush; a failed flush keeps everything for the next one.
 */
export interface MeterUsageLog {
  record(usage: RecordedUsage): void;
  announce(orgId: string, type: 'meter.threshold' | 'meter.exhausted', data: Record<string, unknown>): void;
  flush(): Promise<number>;
}

/** Webhook signing secrets sealed for storage, bound to their endpoint (webhooks/secrets.ts). */
export interface SecretBox {
  seal(secret: string, endpointId: string): Promise<string>;
  open(sealed: string, endpointId: string): Promise<string>;
}

export interface AccessClaims {
  sub: string;
  org: string;
  roles: string[];
}

/** Dashboard users' access tokens (signing/accessTokens.ts). */
export interface AccessTokens {
  issue(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }>;
  /** The claims of a valid token, or undefined for anything else (never throws on bad input). */
  verify(token: string): Promise<(AccessClaims & JWTPayload) | undefined>;
}

/** Who makes a seat call (the licensed app, with nothing but the license key), as its request knows it. */
export interface SeatCaller {
  requestId: string | null;
  /** The client's address (trusted proxies resolved); null outside a request. */
  clientIp: string | null;
  /** The request's Origin header, when a browser sent one. */
  origin: string | null;
  /** Present when the operation takes its license's rate-limit token in the seat store call. */
  rateLimit?: SeatRateLimit;
}

export type SeatOperation =
  'acquire' | 'heartbeat' | 'release' | 'claimQueuedSeat' | 'heartbeatQueueTicket' | 'leaveQueue' | 'borrow' | 'return';

/**
 * How one seat operation ended, by kind. Every operation reports exactly one outcome, refusals
 * included (a thrown RATE_LIMITED or SERVICE_UNAVAILABLE too, as `refused` with that code).
 */
export type SeatOutcomeKind =
  | { kind: 'granted'; sessionId: string; renewed: boolean; overage: boolean; seats: SeatCount }
  | { kind: 'renewed'; sessionId: string }
  | { kind: 'released'; sessionId: string; seats: SeatCount }
  | { kind: 'queued'; ticketId: string; position: number; seats: SeatCount }
  /** A queue ticket answered (heartbeat, leave) with its status after the call. */
  | { kind: 'ticket'; ticketId: string; status: QueueStatus }
  | { kind: 'borrowed'; sessionId: string; borrowedUntil: Date; seats: SeatCount }
  | { kind: 'returned'; sessionId: string; seats: SeatCount }
  /** `INTERNAL`: an unexpected failure (a bug), answered as a masked error. */
  | { kind: 'refused'; code: ErrorCode | RequestErrorCode | 'INTERNAL'; seats?: SeatCount };

export type SeatOutcome = SeatOutcomeKind & {
  operation: SeatOperation;
  at: Date;
  /** null when the license key resolved to no license. */
  licenseId: string | null;
  orgId: string | null;
  fingerprint: string | null;
  caller: SeatCaller;
};

/**
 * The one seam where seat outcomes are known (seats/outcomes.ts reports them): metering,
 * utilization history, the verification log and metrics listen here instead of in each
 * operation. Listeners run synchronously on the request path, so they only buffer.
 */
export interface SeatOutcomes {
  record(outcome: SeatOutcome): void;
  /** Adds a listener; returns its removal. */
  listen(listener: (outcome: SeatOutcome) => void): () => void;
}
