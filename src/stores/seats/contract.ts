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

/** How far past maxSeats a license may grant: seats past maxSeats are overage seats, up to the bound. */
export type OverageStrategy = 'NONE' | 'ALLOW_1_25X' | 'ALLOW_1_5X' | 'ALLOW_2X' | 'ALWAYS';

const OVERAGE_FACTOR: Record<OverageStrategy, number> = { NONE: 1, ALLOW_1_25X: 1.25, ALLOW_1_5X: 1.5, ALLOW_2X: 2, ALWAYS: Infinity };

/**
 * The most leases a license may hold at once, or null for no bound (ALWAYS). Rounded down, so
 * a bound is never more than its factor allows: 1.25 × 3 seats is 3, 1.25 × 4 is 5.
 */
export function seatBound(terms: Pick<LicenseTerms, 'maxSeats' | 'overage'>): number | null {
  const factor = OVERAGE_FACTOR[terms.overage];
  return factor === Infinity ? null : Math.floor(terms.maxSeats * factor);
}

/**
 * Who holds a seat: a machine (PER_MACHINE), each process of a machine (PER_PROCESS, by
 * `processId`), or a user, however many machines they use (PER_USER, by `userId`: each machine
 * of the user has a session of its own, and the user holds one seat while any of them is live).
 */
export type LeasingStrategy = 'PER_MACHINE' | 'PER_USER' | 'PER_PROCESS';

/** The ids of an acquire that the leasing strategy may need beside the fingerprint. */
export interface SeatHolderIds {
  userId?: string | null;
  processId?: string | null;
}

/**
 * Queue options of an acquire: `queueTicketId` is the id of the ticket to open when no seat is
 * free (the license's queue enabled); `claimTicketId` claims the seat set aside for that ticket,
 * for its holder (the fingerprint and ids given are then ignored).
 */
export interface AcquireQueueOptions {
  queueTicketId?: string;
  claimTicketId?: string;
  /** Borrow the seat for this long instead (at most maxBorrowMs): the lease needs no heartbeat until then. */
  borrowMs?: number;
}

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
  overage: OverageStrategy;
  leasingStrategy: LeasingStrategy;
  /** Under PER_PROCESS, the live leases one machine may hold; null = unlimited. */
  maxProcessesPerMachine: number | null;
  /** How long a seat a client released stays in use for its holder alone; 0 = not at all. */
  lingerMs: number;
  queue: SeatQueueTerms;
  /** The longest a seat may be borrowed for offline use; 0 = no borrowing. */
  maxBorrowMs: number;
  /** The most borrowed leases at once; null = no bound beyond the seats. */
  maxBorrowedSeats: number | null;
}

/**
 * A full license's line: at most `maxLength` waiting tickets, each living `claimMs` past its
 * last heartbeat; a seat set aside for the first in line waits `claimMs` for its claim.
 */
export interface SeatQueueTerms {
  enabled: boolean;
  maxLength: number;
  claimMs: number;
}

/** A queue ticket as the store knows it. `position` is 1 for the next in line, 0 once not waiting. */
export interface QueueTicket {
  ticketId: string;
  licenseId: string;
  status: QueueStatus;
  position: number;
  /** When it lapses without a heartbeat (WAITING), or its set-aside seat without a claim (READY); ended: 0. */
  expiresAtMs: number;
  fingerprint: string;
  userId: string | null;
  processId: string | null;
}

export type TicketOutcome = { kind: 'unloaded' } | { kind: 'ticket'; ticket: QueueTicket | null; nowMs: number };

export interface SeatCount {
  licenseId: string;
  used: number;
  max: number;
  changedAt: Date;
}

/** A license's count with what its seats are made of, as `count` reads it at one instant. */
export interface SeatCountDetail extends SeatCount {
  /** Tickets waiting in line. */
  queued: number;
  /** Live borrowed leases (they are among `used`). */
  borrowed: number;
}

/** The license-level facts a signed lease repeats. */
export interface LeaseTerms {
  tier: string;
  features: string[];
  licenseExpiresAtMs: number | null;
}

export type LicenseRefusal = 'SUSPENDED' | 'REVOKED' | 'EXPIRED';

/** `USER_ID_REQUIRED` / `PROCESS_ID_REQUIRED`: the leasing strategy needs an id the acquire did not give. */
export type AcquireRefusal =
  | LicenseRefusal
  | 'NO_SEATS'
  | 'TOO_MANY_MACHINES'
  | 'TOO_MANY_PROCESSES'
  | 'USER_ID_REQUIRED'
  | 'PROCESS_ID_REQUIRED'
  | 'TICKET_NOT_FOUND'
  | 'TICKET_ENDED'
  /** A borrow longer than maxBorrowMs (limit), or any borrow where it is 0. */
  | 'BORROW_NOT_ALLOWED'
  /** maxBorrowedSeats (limit) leases are borrowed already. */
  | 'TOO_MANY_BORROWED';

/** Refused for want of a token: nothing changed. */
export type RateLimited = { kind: 'rate-limited'; rate: TakeResult };
/** The token taken, when the call passed a bucket spec. */
type Rated = { rate?: TakeResult };

export type AcquireOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  /** No seat was free: the holder waits in line with this ticket. */
  | ({ kind: 'queued'; ticket: QueueTicket; seats: SeatCount } & Rated)
  /** `limit`: the limit that refused, for TOO_MANY_MACHINES and TOO_MANY_PROCESSES. */
  | ({ kind: 'refused'; reason: AcquireRefusal; seats: SeatCount; limit?: number } & Rated)
  | ({
      kind: 'granted';
      sessionId: string;
      /** true when the fingerprint's live lease was renewed instead of a new one granted */
      renewed: boolean;
      newMachine: boolean;
      /** The lease was granted past maxSeats under the overage strategy (a renewal keeps its mark). */
      overage: boolean;
      /** The lease is borrowed: it lives to expiresAtMs without heartbeats. */
      borrowed: boolean;
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
      | {
          kind: 'renewed';
          revived: boolean;
          fingerprint: string;
          overage: boolean;
          /** A borrowed lease: left to its borrow's end (`expiresAtMs`), and its lease says so. */
          borrowed: boolean;
          expiresAtMs: number;
          nowMs: number;
          terms: LeaseTerms;
        }
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
  overage: boolean;
  userId: string | null;
  processId: string | null;
  /** The lease is borrowed (it lives to expiresAtMs without heartbeats); absent = false. */
  borrowed?: boolean;
}

/** A seat released less than lingerMs ago, as Postgres records it: its session and when it stops lingering. */
/** An open queue ticket as Postgres records it, for a rebuild: the line is rebuilt in the order given. */
export interface LoadedTicket {
  ticketId: string;
  fingerprint: string;
  userId: string | null;
  processId: string | null;
}

export interface LingeringSeat {
  sessionId: string;
  fingerprint: string;
  userId: string | null;
  processId: string | null;
  untilMs: number;
}

export type ActivateOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  | ({ kind: 'refused'; reason: LicenseRefusal | 'TOO_MANY_MACHINES' } & Rated)
  | ({ kind: 'activated'; newMachine: boolean; nowMs: number } & Rated);

/**
 * `in-use`: live leases hold the machine and `force` was not given, nothing changed;
 * `deactivated`: the machine no longer counts against maxMachines (also when it did not),
 * and `endedSessionIds` are the live leases that `force` ended.
 */
export type DeactivateOutcome =
  | { kind: 'unloaded' }
  | { kind: 'in-use'; liveSessions: number }
  | { kind: 'deactivated'; endedSessionIds: string[]; seats: SeatCount };

export interface SeatStore {
  readonly kind: 'redis' | 'memory';
  acquire(
    licenseId: string,
    sessionId: string,
    fingerprint: string,
    rate?: BucketSpec,
    ids?: SeatHolderIds & AcquireQueueOptions,
  ): Promise<AcquireOutcome>;
  /** Reads, keeps alive (WAITING) or leaves a ticket, after settling the queue. */
  ticket(licenseId: string, ticketId: string, action: 'read' | 'heartbeat' | 'leave'): Promise<TicketOutcome>;
  heartbeat(licenseId: string, sessionId: string, rate?: BucketSpec): Promise<HeartbeatOutcome>;
  /**
   * `forgetMachine` undoes a first activation too: the compensation for a failed acquire.
   * `linger`: a client's release, whose freed seat lingers for its holder (never a revoke).
   */
  release(
    licenseId: string,
    sessionId: string,
    forgetMachine: boolean,
    rate?: BucketSpec,
    options?: { linger?: boolean },
  ): Promise<ReleaseOutcome>;
  count(licenseId: string): Promise<SeatCountDetail | undefined>;
  /** `seats`: the count this reap left, as it announced it (the ended sessions' events carry it). */
  reap(licenseId: string, sessionIds: string[]): Promise<{ sessions: ReapedSession[]; seats: SeatCount } | undefined>;
  /**
   * Activates a machine without a seat, under maxMachines, as acquire would. `forget` undoes a
   * first activation whose Postgres write failed (a machine holding a lease stays).
   */
  activate(licenseId: string, fingerprint: string, forget: boolean, rate?: BucketSpec): Promise<ActivateOutcome>;
  /**
   * Deactivates a machine: its leases are dropped (live ones only with `force`) and it stops
   * counting against maxMachines, in one atomic step.
   */
  deactivate(licenseId: string, fingerprint: string, force: boolean): Promise<DeactivateOutcome>;
  /** Loads a license that the store does not hold; a no-op when it already does. */
  load(
    licenseId: string,
    terms: LicenseTerms,
    sessions: LoadedSession[],
    machines: string[],
    lingering?: LingeringSeat[],
    tickets?: LoadedTicket[],
  ): Promise<void>;
  /**
   * Applies changed terms to a loaded license; a status other than ACTIVE also ends every
   * lease (in constant time: Postgres, not the store, names the sessions that ended). Returns the
   * count the change left, or undefined when the license is not loaded.
   */
  configure(licenseId: string, terms: LicenseTerms): Promise<{ seats: SeatCount } | undefined>;
  /** Liveness of the backing store, for /ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `used:max:nowMs`, the message every script publishes on `lh:seats:<licenseId>`. */
export function parseCountMessage(licenseId: string, message: string): SeatCount {
  const [used, max, at] = message.split(':').map(Number);
  return { licenseId, used: used!, max: max!, changedAt: new Date(at!) };
}

/** Every seat channel starts with this, so an organization-wide view subscribes to the prefix. */
export const SEAT_CHANNEL_PREFIX = 'lh:seats:';
export const seatChannel = (licenseId: string) => `${SEAT_CHANNEL_PREFIX}${licenseId}`;
/** Every change of a license's queue is published here (the message says only when). */
export const queueChannel = (licenseId: string) => `lh:queue:${licenseId}`;
