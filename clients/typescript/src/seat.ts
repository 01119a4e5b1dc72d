/**
 * A held seat and the loop that keeps it: heartbeats at a third of the lease (with jitter), a
 * freshly signed lease only as often as the offline grace needs, retries with backoff while the
 * server cannot be reached (`offline`: the last verified lease still holds), `lost` when that
 * lease runs out or the server ends the session, and the way back (renew, or acquire again)
 * without the app doing anything. `release()` never throws.
 */
import { LeaseholdError, type RefusalCode } from './errors.ts';
import { onExit } from './exit.ts';
import type { LeaseClaims } from './verify.ts';

export interface SeatSession {
  id: string;
  licenseId: string;
  fingerprint: string;
  startedAt: Date;
  lastHeartbeatAt: Date;
  /** When the server frees the seat unless it hears a heartbeat first. */
  expiresAt: Date;
}

/** A lease verified offline: signature, issuer, session, license, machine and expiry. */
export interface Lease {
  token: string;
  claims: LeaseClaims;
  expiresAt: Date;
}

export type SeatState = 'active' | 'offline' | 'lost' | 'released';

export interface SeatEvents {
  /** A heartbeat or a new acquire succeeded; `reacquired` when the seat is a new session. */
  renewed: { session: SeatSession; lease: Lease; reacquired: boolean };
  /** The server cannot be reached; the seat holds until `until` (its last verified lease's end). */
  offline: { error: LeaseholdError; until: Date };
  /** The seat is gone: its lease ran out offline (LEASE_EXPIRED) or the server refused it. */
  lost: { error: LeaseholdError };
}

export interface SeatGrant {
  session: SeatSession;
  lease: Lease;
}

/** What a seat asks of its client; each call throws a LeaseholdError when it does not succeed. */
export interface SeatBackend {
  acquire(): Promise<SeatGrant>;
  heartbeat(session: SeatSession, withLease: boolean): Promise<{ lastHeartbeatAt: Date; expiresAt: Date; lease: Lease | undefined }>;
  release(session: SeatSession): Promise<void>;
}

export interface SeatOptions {
  /** The least time the app keeps working offline after a successful heartbeat (ms); default half the lease. */
  offlineGraceMs: number | undefined;
  releaseOnExit: boolean;
}

/** Refusals after which asking again cannot help until someone changes the license. */
const FINAL: ReadonlySet<RefusalCode> = new Set(['NOT_FOUND', 'SUSPENDED', 'REVOKED', 'EXPIRED', 'TOO_MANY_MACHINES']);
const REFUSALS: ReadonlySet<string> = new Set<RefusalCode>([...FINAL, 'NO_SEATS_AVAILABLE', 'SESSION_EXPIRED', 'SESSION_NOT_FOUND']);
const isRefusal = (error: LeaseholdError): error is LeaseholdError & { code: RefusalCode } => REFUSALS.has(error.code);

const now = () => performance.now();

type Handler<E extends keyof SeatEvents> = (event: SeatEvents[E]) => void;

export class Seat {
  #session: SeatSession;
  #lease: Lease;
  #state: SeatState = 'active';
  readonly #backend: SeatBackend;
  readonly #offlineGraceMs: number | undefined;
  readonly #handlers: { [E in keyof SeatEvents]: Set<Handler<E>> } = { renewed: new Set(), offline: new Set(), lost: new Set() };
  /** Monotonic time at which the last verified lease ends (measured from when it was asked for). */
  #leaseDeadline: number;
  /** The lease length the server grants, from its own clock. */
  #leaseMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lostTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  /** The server no longer knows the session: the next try acquires a new one. */
  #sessionGone = false;
  /** Lost for good: the license refuses this machine until someone changes it. */
  #final = false;
  #released: Promise<void> | undefined;
  readonly #detachExit: () => void;

  /** @internal Seats are made by `Leasehold.acquire()`. */
  constructor(grant: SeatGrant, askedAt: number, backend: SeatBackend, options: SeatOptions) {
    this.#backend = backend;
    this.#offlineGraceMs = options.offlineGraceMs;
    this.#session = grant.session;
    this.#lease = grant.lease;
    this.#leaseMs = leaseLength(grant.session);
    this.#leaseDeadline = deadline(grant.lease, askedAt);
    this.#detachExit = options.releaseOnExit ? onExit(() => this.release()) : () => {};
    this.#schedule(this.#heartbeatDelay(), () => this.#beat());
  }

  get session(): SeatSession {
    return this.#session;
  }

  /** The last verified lease: while `offline`, the app may keep working until `lease.expiresAt`. */
  get lease(): Lease {
    return this.#lease;
  }

  get state(): SeatState {
    return this.#state;
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof SeatEvents>(event: E, handler: Handler<E>): () => void {
    this.#handlers[event].add(handler);
    return () => this.off(event, handler);
  }

  off<E extends keyof SeatEvents>(event: E, handler: Handler<E>): void {
    this.#handlers[event].delete(handler);
  }

  /** Gives the seat back. Idempotent; resolves even when the server is down (the lease then expires there by itself). */
  release(): Promise<void> {
    this.#released ??= (async () => {
      const holding = !this.#sessionGone && !this.#final;
      this.#state = 'released';
      this.#stopTimers();
      this.#detachExit();
      if (!holding) return;
      await this.#backend.release(this.#session).catch(() => {});
    })();
    return this.#released;
  }

  #emit<E extends keyof SeatEvents>(event: E, payload: SeatEvents[E]) {
    for (const handler of this.#handlers[event]) {
      try {
        handler(payload);
      } catch (error) {
        // A handler's bug must not stop the heartbeats; it surfaces as an uncaught error instead.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #schedule(delayMs: number, task: () => Promise<void>) {
    clearTimeout(this.#timer);
    this.#timer = unref(setTimeout(() => void task(), Math.max(0, delayMs)));
  }

  #stopTimers() {
    clearTimeout(this.#timer);
    clearTimeout(this.#lostTimer);
    this.#timer = this.#lostTimer = undefined;
  }

  /** A third of the lease, less up to a fifth of that at random so a fleet's heartbeats spread out. */
  #heartbeatDelay() {
    return (this.#leaseMs / 3) * (0.8 + 0.2 * Math.random());
  }

  /** Exponential from a twelfth of the lease (at most 1 s), capped at a third of it (at most 30 s), with jitter. */
  #retryDelay() {
    const base = Math.min(1_000, this.#leaseMs / 12);
    const cap = Math.max(base, Math.min(30_000, this.#leaseMs / 3));
    const delay = Math.min(cap, base * 2 ** this.#attempt);
    this.#attempt += 1;
    return delay * (0.5 + 0.5 * Math.random());
  }

  /**
   * How long the last verified lease still runs, by the monotonic clock and by the wall clock,
   * whichever says less: the monotonic one cannot be set back, but stands still while the
   * machine sleeps (a laptop's lid closed past the lease's end).
   */
  #leaseRemaining() {
    return Math.min(this.#leaseDeadline - now(), this.#lease.claims.exp * 1000 - Date.now());
  }

  #graceMs() {
    const grace = this.#offlineGraceMs ?? this.#leaseMs / 2;
    return Math.min(Math.max(grace, 0), this.#leaseMs);
  }

  async #beat(): Promise<void> {
    if (this.#released) return;
    if (this.#sessionGone) return this.#reacquire();
    const askedAt = now();
    // A new signed lease only when the one held would not cover the grace from this moment on.
    const withLease = this.#state !== 'active' || this.#leaseRemaining() < this.#graceMs();
    const session = this.#session;
    try {
      const renewed = await this.#backend.heartbeat(session, withLease);
      if (this.#released || session !== this.#session) return;
      this.#session = { ...session, lastHeartbeatAt: renewed.lastHeartbeatAt, expiresAt: renewed.expiresAt };
      this.#leaseMs = leaseLength(this.#session);
      if (renewed.lease) {
        this.#lease = renewed.lease;
        this.#leaseDeadline = deadline(renewed.lease, askedAt);
      }
      this.#online(false);
    } catch (error) {
      if (this.#released || session !== this.#session) return;
      const failure = asLeaseholdError(error);
      if (!isRefusal(failure)) return this.#unreachable(failure);
      if (failure.code === 'SESSION_EXPIRED' || failure.code === 'SESSION_NOT_FOUND') {
        // While its lease still runs, a session only ends because someone ended it (a revoke,
        // a suspension): taking the seat straight back would undo that.
        if (this.#leaseRemaining() > 0) return this.#lose(failure, true);
        this.#sessionGone = true;
        return this.#reacquire();
      }
      return this.#lose(failure, FINAL.has(failure.code));
    }
  }

  async #reacquire(): Promise<void> {
    const askedAt = now();
    try {
      const grant = await this.#backend.acquire();
      if (this.#released) {
        await this.#backend.release(grant.session).catch(() => {});
        return;
      }
      this.#session = grant.session;
      this.#lease = grant.lease;
      this.#leaseMs = leaseLength(grant.session);
      this.#leaseDeadline = deadline(grant.lease, askedAt);
      this.#sessionGone = false;
      this.#online(true);
    } catch (error) {
      if (this.#released) return;
      const failure = asLeaseholdError(error);
      if (!isRefusal(failure)) return this.#unreachable(failure);
      this.#lose(failure, FINAL.has(failure.code));
    }
  }

  #online(reacquired: boolean) {
    this.#state = 'active';
    this.#attempt = 0;
    clearTimeout(this.#lostTimer);
    this.#lostTimer = undefined;
    this.#schedule(this.#heartbeatDelay(), () => this.#beat());
    this.#emit('renewed', { session: this.#session, lease: this.#lease, reacquired });
  }

  /** No usable answer: keep the last verified lease until it ends, and keep trying. */
  #unreachable(error: LeaseholdError) {
    if (this.#state === 'active') {
      this.#state = 'offline';
      const remaining = this.#leaseRemaining();
      this.#lostTimer = unref(
        setTimeout(() => {
          if (this.#state === 'offline') this.#lose(new LeaseholdError('LEASE_EXPIRED', 'The lease ran out while the license server could not be reached', { cause: error }), false);
        }, Math.max(0, remaining)),
      );
      this.#emit('offline', { error, until: new Date(Date.now() + Math.max(0, remaining)) });
    }
    const wait = error.retryAfter !== undefined ? Math.max(error.retryAfter * 1000, this.#retryDelay()) : this.#retryDelay();
    this.#schedule(wait, () => this.#beat());
  }

  /** The seat is gone; unless the refusal is final, the loop keeps trying to get it back. */
  #lose(error: LeaseholdError, final: boolean) {
    const wasLost = this.#state === 'lost';
    this.#state = 'lost';
    this.#final = final;
    if (final) this.#stopTimers();
    else this.#schedule(this.#retryDelay(), () => this.#beat());
    if (!wasLost) this.#emit('lost', { error });
  }
}

function leaseLength(session: SeatSession) {
  return Math.max(1_000, session.expiresAt.getTime() - session.lastHeartbeatAt.getTime());
}

/** When a lease ends on this machine's monotonic clock: immune to skew and to the wall clock being set back. */
function deadline(lease: Lease, askedAt: number) {
  return askedAt + (lease.claims.exp - lease.claims.iat) * 1000;
}

function asLeaseholdError(error: unknown): LeaseholdError {
  return error instanceof LeaseholdError ? error : new LeaseholdError('INTERNAL', String(error), { cause: error });
}

/** Timers of a seat never keep a process alive on their own (Node and Bun return objects, Deno ids). */
function unref(timer: ReturnType<typeof setTimeout>): ReturnType<typeof setTimeout> {
  const handle = timer as unknown as { unref?: () => void };
  if (typeof handle.unref === 'function') handle.unref();
  else (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(timer as unknown as number);
  return timer;
}
