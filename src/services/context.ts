/**
 * The dependencies every service receives, built once by the composition root (app.ts), and
 * the shape of each. The ports are declared here and implemented in the domain folders, so
 * this file depends on nothing above config, db, stores and lib, and any domain may import it.
 * Per-request facts (who is calling, request id) travel separately as an `Actor`.
 */
import type { HostResolver, PinnedPost } from '../lib/network.ts';
import type { JWTPayload } from 'jose';
import type { Config } from '../config/config.ts';
import type { IdentityProvider } from '../config/identityProviders.ts';
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
import type { SignInStore } from '../stores/signIns/contract.ts';
import type { ErrorCode, IdTokenInvalid, RequestErrorCode, Result } from './errors.ts';
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
  /** Which dashboard sign-in sessions still hold, as access tokens are checked. */
  signInSessions: SignInSessions;
  /** The OpenID Connect issuers of single sign-on: their tokens verified, their codes exchanged (identity/idTokens.ts). */
  identityProviders: IdentityProviders;
  /** Sign-in state shared by every instance (sessions ended, addresses accounts signed in from). */
  signIns: SignInStore;
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
  /** Seat utilization per license and minute, waiting to be written to Postgres (utilization/recording.ts). */
  utilization: UtilizationLog;
  /** Validations and refused seat operations, waiting to be written to Postgres (verifications/log.ts). */
  verifications: VerificationLog;
  /** Resolves a webhook receiver's name, once per delivery (webhooks/transport.ts). */
  resolveHost: HostResolver;
  /** Sends a delivery to the address its name was checked at (the runtime's Network). */
  postTo: PinnedPost;
  /** The counters that services move themselves (metrics.ts). */
  metrics: ServiceMetrics;
  log: Logger;
}

/** What services count for /metrics; the rest of it is counted by the HTTP layer or read at scrape time. */
export interface ServiceMetrics {
  /** One recorded webhook attempt outcome. */
  webhookAttempt(status: string): void;
}


/** Who performs an action, as the audit log records it. */
export interface Actor {
  type: 'operator' | 'user' | 'apiKey' | 'license' | 'system';
  id: string | null;
  orgId: string;
  requestId: string | null;
}

/** License keys: made, checked and hashed with the versioned server secret (licenses/licenseKeys.ts). */
export interface LicenseKeys {
  /** A new key of the current secret version, with the lookup hash Postgres keeps. */
  generate(): Promise<{ key: string; hash: string; hint: string }>;
  /**
   * The lookup hash of a key this server accepts, made with its own version's secret; undefined
   * for anything else (shape, version marker or checksum wrong, or a version not configured).
   */
  lookupHash(key: string): Promise<string | undefined>;
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

/**
 * Seat utilization history: each seat outcome adds to its license's minute in memory (no I/O);
 * `flush` writes the minutes in one statement and resolves to how many it wrote.
 */
export interface UtilizationLog {
  record(outcome: SeatOutcome): void;
  flush(): Promise<number>;
}

/** One entry of the verification log: a license checked (`validateLicense`) or a seat operation refused. */
export interface Verification {
  licenseId: string;
  at: Date;
  operation: 'validateLicense' | SeatOperation;
  /** The validation code, or the refusal's error code. */
  result: string;
  address: string | null;
  origin: string | null;
  fingerprint: string | null;
}

/** The verification log's entries, buffered off the request path; `flush` writes them and resolves to how many. */
export interface VerificationLog {
  record(entry: Verification): void;
  flush(): Promise<number>;
}

/**
 * Secrets sealed for storage under a data key that a local or KMS key wraps (encryption/envelope.ts),
 * each bound to a context (a webhook secret's: its row, slot and expiry; webhooks/secrets.ts).
 */
export interface SecretBox {
  seal(secret: string, context: string): Promise<string>;
  /** `bound`: the context it was sealed with; `legacy`: what a v1 ciphertext was bound to. Throws SecretUnsealError. */
  open(sealed: string, context: { bound: string; legacy: string }): Promise<string>;
  /** Whether the ciphertext is of the current format, under the key that wraps new data keys. */
  isCurrent(sealed: string): Promise<boolean>;
  /** The key new data keys are wrapped with (for KMS, the version its first wrap named). */
  currentKeyId(): Promise<string>;
  /** The key a ciphertext names (`v1` for the format before envelopes); never a secret. */
  keyIdOf(sealed: string): string;
  close(): Promise<void>;
}

export interface AccessClaims {
  sub: string;
  org: string;
  roles: string[];
  /** The sign-in session (refresh-token family) the token belongs to. */
  sid: string;
}

/** Dashboard users' access tokens (signing/accessTokens.ts). */
export interface AccessTokens {
  issue(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }>;
  /** The claims of a valid token, or undefined for anything else (never throws on bad input). */
  verify(token: string): Promise<(AccessClaims & JWTPayload) | undefined>;
}

/** Dashboard sign-in sessions (refresh-token families) as access tokens see them (identity/signInSessions.ts). */
export interface SignInSessions {
  /** False once the session has ended: at once on this instance, within a second on every other. */
  isLive(sessionId: string): Promise<boolean>;
  /** Called after Postgres recorded the end (the families' refresh tokens revoked). */
  end(sessionIds: readonly string[]): Promise<void>;
}

/** An ID token whose signature, issuer, audience and times held, and the provider that issued it. */
export interface VerifiedIdToken {
  provider: IdentityProvider;
  subject: string;
  claims: JWTPayload;
}

/**
 * The configured OpenID Connect providers, as single sign-on asks them. An issuer that cannot be
 * asked (discovery, key set, token endpoint down or too slow) throws SERVICE_UNAVAILABLE; what
 * the token or code itself gets wrong is an IdTokenInvalid.
 */
export interface IdentityProviders {
  /** Verifies a token of whichever provider its `iss` names (or only of `expect.provider`), with the nonce when one was sent. */
  verify(idToken: string, expect?: { provider?: IdentityProvider; nonce?: string }): Promise<Result<VerifiedIdToken, IdTokenInvalid>>;
  /** Where the console sends the user to sign in (the discovery document's `authorization_endpoint`). */
  authorizationEndpoint(provider: IdentityProvider): Promise<string>;
  /** Swaps an authorization code (with its PKCE verifier) at the provider's token endpoint for the ID token it stands for. */
  exchangeCode(
    provider: IdentityProvider,
    input: { code: string; codeVerifier: string; redirectUri: string },
  ): Promise<Result<string, IdTokenInvalid>>;
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
