/**
 * The seat store contract: live leases per license, decided atomically. Two implementations
 * keep it: Redis with the Lua scripts of lua/ (production, any number of instances) and an
 * in-process store (embedded mode, one instance). One test suite runs against both.
 *
 * Every change of a license's used-seat count is published on `seatChannel(licenseId)`.
 *
 * Acquire, heartbeat and release can also take a token from the license's rate-limit bucket
 * (`licenseBucket`) in the same atomic step: given a bucket spec, a loaded license takes its
 * token first, and without one left the operation changes nothing and answers `rate-limited`.
 */
import type { BucketSpec, TakeResult } from '../rateLimits/contract.ts';

export type LicenseStatus = 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

/** A queue ticket's state: waiting in line, holding a seat set aside for it, or done (lapsed, left, claimed). */
export type QueueStatus = 'WAITING' | 'READY' | 'EXPIRED' | 'LEFT' | 'CLAIMED';

/** What the seat path needs to know about a license; Postgres is its source. */
export interface LicenseTerms {
  status: LicenseStatus;
  maxSeats: number;
  /** null = unlimited */
  maxMachines: number | null;
  leaseMs: number;
  reviveMs: number;
  /** null = never expires */
  expiresAtMs: number | null;
  tier: string;
  features: string[];
}

export interface SeatCount {
  licenseId: string;
  used: number;
  max: number;
  changedAt: Date;
}

/** The license-level facts a signed lease repeats. */
export interface LeaseTerms {
  tier: string;
  features: string[];
  licenseExpiresAtMs: number | null;
}

export type LicenseRefusal = 'SUSPENDED' | 'REVOKED' | 'EXPIRED';

/** Refused for want of a token: nothing changed. */
export type RateLimited = { kind: 'rate-limited'; rate: TakeResult };
/** The token taken, when the call passed a bucket spec. */
type Rated = { rate?: TakeResult };

export type AcquireOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  | ({ kind: 'refused'; reason: LicenseRefusal | 'NO_SEATS' | 'TOO_MANY_MACHINES'; seats: SeatCount } & Rated)
  | ({
      kind: 'granted';
      sessionId: string;
      /** true when the fingerprint's live lease was renewed instead of a new one granted */
      renewed: boolean;
      newMachine: boolean;
      expiresAtMs: number;
      nowMs: number;
      seats: SeatCount;
      terms: LeaseTerms;
    } & Rated);

export type HeartbeatOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  | ((
      | { kind: 'refused'; reason: LicenseRefusal }
      /** `unknown`: no lease with this id is held (never was, released, or reaped); `expired`: past expiry and not revivable. */
      | { kind: 'lapsed'; reason: 'unknown' | 'expired' }
      | { kind: 'renewed'; revived: boolean; fingerprint: string; expiresAtMs: number; nowMs: number; terms: LeaseTerms }
    ) &
      Rated);

export type ReleaseOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  | ({
      kind: 'released';
      state: 'released' | 'already-expired' | 'unknown';
      /** The lease's expiry: when an already-expired lease ended; null when there was no lease. */
      leaseExpiresAtMs: number | null;
      seats: SeatCount;
    } & Rated);

export interface ReapedSession {
  sessionId: string;
  /** removed: ended at expiresAtMs; held: still live or revivable until expiresAtMs; missing: not in the store */
  state: 'removed' | 'held' | 'missing';
  expiresAtMs: number;
}

export interface LoadedSession {
  sessionId: string;
  fingerprint: string;
  expiresAtMs: number;
}

export type ActivateOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  | ({ kind: 'refused'; reason: LicenseRefusal | 'TOO_MANY_MACHINES' } & Rated)
  | ({ kind: 'activated'; newMachine: boolean; nowMs: number } & Rated);

export interface SeatStore {
  readonly kind: 'redis' | 'memory';
  acquire(licenseId: string, sessionId: string, fingerprint: string, rate?: BucketSpec): Promise<AcquireOutcome>;
  heartbeat(licenseId: string, sessionId: string, rate?: BucketSpec): Promise<HeartbeatOutcome>;
  /** `forgetMachine` undoes a first activation too: the compensation for a failed acquire. */
  release(licenseId: string, sessionId: string, forgetMachine: boolean, rate?: BucketSpec): Promise<ReleaseOutcome>;
  count(licenseId: string): Promise<SeatCount | undefined>;
  reap(licenseId: string, sessionIds: string[]): Promise<ReapedSession[] | undefined>;
  /**
   * Activates a machine without a seat, under maxMachines, as acquire would. `forget` undoes a
   * first activation whose Postgres write failed (a machine holding a lease stays).
   */
  activate(licenseId: string, fingerprint: string, forget: boolean, rate?: BucketSpec): Promise<ActivateOutcome>;
  /** Loads a license that the store does not hold; a no-op when it already does. */
  load(licenseId: string, terms: LicenseTerms, sessions: LoadedSession[], machines: string[]): Promise<void>;
  /**
   * Applies changed terms to a loaded license; a status other than ACTIVE also ends every
   * lease. Returns the ended leases' session ids, or undefined when the license is not loaded.
   */
  configure(licenseId: string, terms: LicenseTerms): Promise<{ endedSessionIds: string[] } | undefined>;
  /** Liveness of the backing store, for /ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `used:max:nowMs`, the message every script publishes on `lh:seats:<licenseId>`. */
export function parseCountMessage(licenseId: string, message: string): SeatCount {
  const [used, max, at] = message.split(':').map(Number);
  return { licenseId, used: used!, max: max!, changedAt: new Date(at!) };
}

export const seatChannel = (licenseId: string) => `lh:seats:${licenseId}`;
