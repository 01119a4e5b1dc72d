/**
 * The seat operations of client apps: acquire, heartbeat, release. The seat store decides
 * (atomically, in one round trip); Postgres records sessions and the audit trail. Heartbeats
 * never wait for Postgres.
 */
import type { BucketSpec, TakeResult } from '../../stores/rateLimits/contract.ts';
import {
  parseCountMessage,
  seatChannel,
  type LeaseTerms,
  type QueueStatus,
  type QueueTicket,
  type RateLimited,
  type SeatCount,
  type SeatCountDetail,
} from '../../stores/seats/contract.ts';
import { subscriptionStream } from '../../lib/asyncIterators.ts';
import { inTenantStatement } from '../../db/tenant.ts';
import { announceSeatLimitReached } from './limitReached.ts';
import { recordTicketEnded, ticketQueued } from './queueRecord.ts';
import type { Actor, ResolvedKey, SeatCaller, SeatOutcomeKind, ServiceContext } from '../context.ts';
import { observed, type SeatCallFacts } from './outcomes.ts';
import {
  err,
  licenseError,
  LicenseNotFound,
  NoSeatsAvailable,
  ok,
  InvalidInput,
  RequestError,
  guarded,
  serviceUnavailable,
  SessionExpired,
  SessionNotFound,
  TooManyMachines,
  TooManyProcesses,
  QueueTicketExpired,
  QueueTicketNotFound,
  BorrowNotAllowed,
  type LicenseError,
  type Result,
} from '../errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import { getLicense, MAX_BORROW_DAYS, resolveLicenseKey } from '../licenses/licenses.ts';
import { checkClientId, checkFingerprint } from '../licenses/fingerprints.ts';
import { loadLicenseSeats } from './loading.ts';
import { rateLimitedError, type SeatRateLimit } from '../rateLimits.ts';
import {
  endSessions,
  endSessionsInTenant,
  findSession,
  getSession,
  sessionFromRow,
  sessionBorrowed,
  sessionStarted,
  type EndReason,
  type SessionView,
} from '../sessions/sessions.ts';
import { signDocument, type SignedDocument } from '../signing/documents.ts';
import { DocumentType } from '../../lib/jws.ts';
import { databaseWork, tenantWork } from '../database.ts';
import { DAY_MS } from '../../lib/clock.ts';

export type SignedLease = SignedDocument;

const CLIENT_INFO_MAX_BYTES = 4096;

function checkAcquireInput(input: AcquireInput): InvalidInput | undefined {
  const id =
    checkFingerprint(input.fingerprint) ??
    (input.userId != null ? checkClientId(input.userId, 'userId') : undefined) ??
    (input.processId != null ? checkClientId(input.processId, 'processId') : undefined);
  if (id) return id;
  if (input.clientInfo != null && JSON.stringify(input.clientInfo).length > CLIENT_INFO_MAX_BYTES) {
    return new InvalidInput(`clientInfo must be at most ${CLIENT_INFO_MAX_BYTES} bytes of JSON`, 'clientInfo');
  }
  return undefined;
}

function checkSessionId(sessionId: string): InvalidInput | undefined {
  return isId('ses', sessionId) ? undefined : new InvalidInput('sessionId is not a session id', 'sessionId');
}

/**
 * Runs a seat store operation, loading the license into the store first when it is not there.
 * With a rate limit the operation takes its token in the same store call; without a token left
 * it is refused with RATE_LIMITED and nothing changed.
 */
export async function withLoadedLicense<T extends { kind: string; rate?: TakeResult }>(
  ctx: ServiceContext,
  licenseId: string,
  rateLimit: SeatRateLimit | undefined,
  operation: (rate: BucketSpec | undefined) => Promise<T>,
): Promise<Exclude<T, { kind: 'unloaded' } | RateLimited>> {
  const run = () => guarded('The seat store', () => operation(rateLimit?.spec));
  let outcome = await run();
  if (outcome.kind === 'unloaded') {
    await loadLicenseSeats(ctx, licenseId);
    outcome = await run();
    if (outcome.kind === 'unloaded') throw serviceUnavailable('The seat store', new Error('license did not stay loaded'));
  }
  if (outcome.rate) rateLimit?.taken(outcome.rate);
  if (outcome.kind === 'rate-limited') throw rateLimitedError(outcome.rate!);
  return outcome as Exclude<T, { kind: 'unloaded' } | RateLimited>;
}

function signLease(
  ctx: ServiceContext,
  session: { id: string; licenseId: string; fingerprint: string; overage: boolean; borrowedUntil?: Date | null },
  nowMs: number,
  expiresAtMs: number,
  terms: LeaseTerms,
): Promise<SignedLease> {
  return signDocument(ctx, {
    type: DocumentType.lease,
    audience: session.licenseId,
    claims: {
      sub: session.id,
      lic: session.licenseId,
      fp: session.fingerprint,
      tier: terms.tier,
      features: terms.features,
      overage: session.overage,
      // A borrowed lease is told apart offline: it lasts its borrow, with no heartbeat.
      ...(session.borrowedUntil ? { borrowed: true } : {}),
      iat: Math.floor(nowMs / 1000),
      ...(terms.licenseExpiresAtMs !== null ? { lexp: Math.floor(terms.licenseExpiresAtMs / 1000) } : {}),
    },
    expiresAtSeconds: Math.floor(expiresAtMs / 1000),
  });
}

export interface AcquireInput {
  licenseKey: string;
  fingerprint: string;
  clientInfo?: unknown;
  /** The user (PER_USER) and the process (PER_PROCESS) the seat is for; recorded under every strategy. */
  userId?: string | null;
  processId?: string | null;
  /** Wait in line when no seat is free (on a license whose queue is enabled): answered SeatQueued. */
  queue?: boolean | null;
}

export type AcquireError =
  | InvalidInput
  | LicenseError
  | NoSeatsAvailable
  | TooManyMachines
  | TooManyProcesses
  | QueueTicketNotFound
  | QueueTicketExpired
  | BorrowNotAllowed;

/** A queue ticket as the API shows it. */
export interface QueueTicketView {
  id: string;
  licenseId: string;
  position: number;
  status: QueueStatus;
  expiresAt: Date;
}

export const ticketView = (ticket: QueueTicket): QueueTicketView => ({
  id: ticket.ticketId,
  licenseId: ticket.licenseId,
  position: ticket.position,
  status: ticket.status,
  expiresAt: new Date(ticket.expiresAtMs),
});

/** No seat was free: the client waits in line with this ticket. */
export type SeatQueued = { ticket: QueueTicketView; seats: SeatCount };

/** `renewed`: the fingerprint's live lease was renewed instead of a new seat granted. */
export type SeatGranted = { session: SessionView; lease: SignedLease; seats: SeatCount; renewed: boolean };

/** The license of a seat call's key, noted in the call's facts; undefined for a key this server did not issue. */
export async function licenseOfKey(ctx: ServiceContext, licenseKey: string, facts: SeatCallFacts): Promise<ResolvedKey | undefined> {
  const license = await resolveLicenseKey(ctx, licenseKey);
  if (license) {
    facts.licenseId = license.licenseId;
    facts.orgId = license.orgId;
  }
  return license;
}

export function acquireSeat(
  ctx: ServiceContext,
  input: AcquireInput,
  caller: SeatCaller,
): Promise<Result<SeatGranted | SeatQueued, AcquireError>> {
  return observed(ctx, 'acquire', caller, input.fingerprint, (facts) => acquire(ctx, input, caller, facts), grantOutcome);
}

/** The outcome an acquire or a claim reports. */
export const grantOutcome = (answer: SeatGranted | SeatQueued): SeatOutcomeKind =>
  'ticket' in answer
    ? { kind: 'queued', ticketId: answer.ticket.id, position: answer.ticket.position, seats: answer.seats }
    : { kind: 'granted', sessionId: answer.session.id, renewed: answer.renewed, overage: answer.session.overage, seats: answer.seats };

/**
 * An acquire; with `claimTicketId`, the claim of the seat set aside for that ticket, for the
 * ticket's holder (the input's fingerprint and ids are then the ticket's); with `borrowMs`, a
 * borrow of the seat for that long (a holder's live lease becomes the borrow).
 */
export async function acquire(
  ctx: ServiceContext,
  input: AcquireInput,
  caller: SeatCaller,
  facts: SeatCallFacts,
  options: { claimTicketId?: string; borrowMs?: number } = {},
): Promise<Result<SeatGranted | SeatQueued, AcquireError>> {
  const { claimTicketId, borrowMs } = options;
  const invalid = checkAcquireInput(input);
  if (invalid) return err(invalid);
  const license = await licenseOfKey(ctx, input.licenseKey, facts);
  if (!license) return err(new LicenseNotFound());
  const { licenseId } = license;

  const sessionId = newId('ses');
  const queueTicketId = input.queue ? newId('qtk') : undefined;
  const outcome = await withLoadedLicense(ctx, licenseId, caller.rateLimit, (rate) =>
    ctx.seats.acquire(licenseId, sessionId, input.fingerprint, rate, {
      userId: input.userId,
      processId: input.processId,
      ...(queueTicketId ? { queueTicketId } : {}),
      ...(claimTicketId ? { claimTicketId } : {}),
      ...(borrowMs !== undefined ? { borrowMs } : {}),
    }),
  );
  const actor: Actor = { type: 'license', id: licenseId, orgId: license.orgId, requestId: caller.requestId };
  if (outcome.kind === 'queued') {
    // A holder already in line is answered its ticket; a new one is in the record before the answer.
    if (outcome.ticket.ticketId === queueTicketId) await recordQueued(ctx, actor, outcome.ticket, outcome.seats);
    return ok({ ticket: ticketView(outcome.ticket), seats: outcome.seats });
  }
  if (outcome.kind === 'refused') {
    switch (outcome.reason) {
      case 'NO_SEATS':
        await announceSeatLimitReached(ctx, { orgId: license.orgId, licenseId, fingerprint: input.fingerprint, seats: outcome.seats });
        return err(new NoSeatsAvailable(outcome.seats));
      case 'TOO_MANY_MACHINES':
        return err(new TooManyMachines(outcome.limit!));
      case 'TOO_MANY_PROCESSES':
        return err(new TooManyProcesses(outcome.limit!));
      case 'USER_ID_REQUIRED':
        return err(new InvalidInput("userId is required: this license's seats are per user", 'userId'));
      case 'PROCESS_ID_REQUIRED':
        return err(new InvalidInput("processId is required: this license's seats are per process", 'processId'));
      case 'TICKET_NOT_FOUND':
        return err(new QueueTicketNotFound());
      case 'TICKET_ENDED':
        return err(new QueueTicketExpired());
      case 'BORROW_NOT_ALLOWED':
        return err(
          new BorrowNotAllowed(
            outcome.limit
              ? `The license lets a seat be borrowed for at most ${outcome.limit / DAY_MS} days.`
              : 'The license does not let seats be borrowed.',
          ),
        );
      case 'TOO_MANY_BORROWED':
        return err(new BorrowNotAllowed(`All ${outcome.limit} seats the license lets be borrowed at once are borrowed.`));
      default:
        return err(licenseError(outcome.reason));
    }
  }

  const now = new Date(outcome.nowMs);
  const expiresAt = new Date(outcome.expiresAtMs);
  const session: SessionView = {
    id: outcome.sessionId,
    licenseId,
    fingerprint: input.fingerprint,
    lastHeartbeatAt: now,
    expiresAt,
    endedAt: null,
    endReason: null,
    overage: outcome.overage,
    userId: input.userId ?? null,
    processId: input.processId ?? null,
    borrowedUntil: outcome.borrowed ? expiresAt : null,
    // A renewed session keeps what it said when it started: read from its row when asked for.
    clientInfo: outcome.renewed ? undefined : (input.clientInfo ?? null),
  };

  if (outcome.renewed) {
    if (borrowMs !== undefined) {
      // The holder's live lease became a borrow: Postgres records its new end at once.
      await databaseWork(() => inTenantStatement(ctx.db, license.orgId, sessionBorrowed(actor, session, outcome.seats)));
    } else ctx.heartbeats.record(session.id, now, expiresAt);
    const lease = await signLease(ctx, session, outcome.nowMs, outcome.expiresAtMs, outcome.terms);
    return ok({ session, lease, seats: outcome.seats, renewed: true });
  }

  // A new seat is held in the store from here on: any failure below must give it back.
  try {
    const lease = await signLease(ctx, session, outcome.nowMs, outcome.expiresAtMs, outcome.terms);
    await inTenantStatement(
      ctx.db,
      license.orgId,
      sessionStarted(
        actor,
        { ...session, startedAt: now },
        { clientInfo: input.clientInfo, newMachine: outcome.newMachine, seats: outcome.seats },
      ),
    );
    if (claimTicketId) await recordTicketEnded(ctx, actor, claimTicketId, 'CLAIMED');
    return ok({ session: { ...session, startedAt: now }, lease, seats: outcome.seats, renewed: false });
  } catch (error) {
    await ctx.seats.release(licenseId, session.id, outcome.newMachine).catch((releaseError: unknown) => {
      ctx.log.error('could not give back a seat after a failed acquire', { licenseId, sessionId: session.id, error: String(releaseError) });
    });
    if (error instanceof RequestError) throw error;
    throw serviceUnavailable('The database', error);
  }
}

/** Records a ticket the store just opened; if Postgres cannot, the ticket leaves the line again and the caller hears SERVICE_UNAVAILABLE. */
async function recordQueued(ctx: ServiceContext, actor: Actor, ticket: QueueTicket, seats: SeatCount): Promise<void> {
  try {
    await inTenantStatement(ctx.db, actor.orgId, ticketQueued(actor, ticket, new Date(ctx.clock.now()), seats));
  } catch (error) {
    await ctx.seats.ticket(ticket.licenseId, ticket.ticketId, 'leave').catch((leaveError: unknown) => {
      ctx.log.error('could not take a ticket out of the line after a failed write', { ticketId: ticket.ticketId, error: String(leaveError) });
    });
    throw serviceUnavailable('The database', error);
  }
}

/**
 * Borrows a seat for offline use: a lease that lives `days` (at most the license's maxBorrowDays,
 * never past its expiry) without heartbeats, counted against maxSeats and maxBorrowedSeats until
 * then or until it is returned. A machine that holds a live lease borrows that lease.
 */
export function borrowSeat(
  ctx: ServiceContext,
  input: Omit<AcquireInput, 'queue'> & { days: number },
  caller: SeatCaller,
): Promise<Result<SeatGranted, AcquireError>> {
  return observed(
    ctx,
    'borrow',
    caller,
    input.fingerprint,
    async (facts): Promise<Result<SeatGranted, AcquireError>> => {
      if (!Number.isInteger(input.days) || input.days < 1 || input.days > MAX_BORROW_DAYS) {
        return err(new InvalidInput(`days must be a whole number from 1 to ${MAX_BORROW_DAYS}`, 'days'));
      }
      const result = await acquire(ctx, input, caller, facts, { borrowMs: input.days * DAY_MS });
      if (result.ok && 'ticket' in result.value) throw new Error('a borrow never waits in line');
      return result as Result<SeatGranted, AcquireError>;
    },
    grantOutcome,
  );
}

/** `lease` signs when first asked for: a heartbeat whose operation does not select it costs no signature. */
export type SeatRenewed = { session: SessionView; lease: () => Promise<SignedLease> };

export function heartbeatSeat(
  ctx: ServiceContext,
  input: { licenseKey: string; sessionId: string },
  caller: SeatCaller,
): Promise<Result<SeatRenewed, InvalidInput | LicenseError | SessionExpired | SessionNotFound>> {
  return observed(
    ctx,
    'heartbeat',
    caller,
    null,
    (facts) => heartbeat(ctx, input, caller, facts),
    (renewed) => ({ kind: 'renewed', sessionId: renewed.session.id }),
  );
}

async function heartbeat(
  ctx: ServiceContext,
  input: { licenseKey: string; sessionId: string },
  caller: SeatCaller,
  facts: SeatCallFacts,
): Promise<Result<SeatRenewed, InvalidInput | LicenseError | SessionExpired | SessionNotFound>> {
  const invalid = checkSessionId(input.sessionId);
  if (invalid) return err(invalid);
  const license = await licenseOfKey(ctx, input.licenseKey, facts);
  if (!license) return err(new LicenseNotFound());
  const { licenseId } = license;

  const outcome = await withLoadedLicense(ctx, licenseId, caller.rateLimit, (rate) =>
    ctx.seats.heartbeat(licenseId, input.sessionId, rate),
  );
  if (outcome.kind === 'refused') return err(licenseError(outcome.reason));
  if (outcome.kind === 'lapsed') {
    // The failure path may ask Postgres: it tells an ended session from one that never existed.
    const row = await findSession(ctx, licenseId, input.sessionId);
    if (!row) return err(new SessionNotFound());
    return err(new SessionExpired(row.endReason === 'REVOKED' ? 'The session was revoked; acquire a seat again.' : undefined));
  }
  facts.fingerprint = outcome.fingerprint;
  const now = new Date(outcome.nowMs);
  const expiresAt = new Date(outcome.expiresAtMs);
  ctx.heartbeats.record(input.sessionId, now, expiresAt);
  const session: SessionView = {
    id: input.sessionId,
    licenseId,
    fingerprint: outcome.fingerprint,
    lastHeartbeatAt: now,
    expiresAt,
    endedAt: null,
    endReason: null,
    overage: outcome.overage,
    borrowedUntil: outcome.borrowed ? expiresAt : null,
  };
  let signed: Promise<SignedLease> | undefined;
  const lease = () => (signed ??= signLease(ctx, session, outcome.nowMs, outcome.expiresAtMs, outcome.terms));
  return ok({ session, lease });
}

export type SeatReleased = { session: SessionView; seats: SeatCount };

/** The end of a seat by its client: `release` lets the seat linger for its holder (lingerSeconds); `return` gives a borrowed seat back at once. */
const clientEnd =
  (operation: 'release' | 'return') =>
  (
    ctx: ServiceContext,
    input: { licenseKey: string; sessionId: string },
    caller: SeatCaller,
  ): Promise<Result<SeatReleased, InvalidInput | LicenseNotFound | SessionNotFound>> =>
    observed(
      ctx,
      operation,
      caller,
      null,
      (facts) => release(ctx, input, caller, facts, operation === 'release'),
      (released) => ({ kind: 'released', sessionId: released.session.id, seats: released.seats }),
    );

export const releaseSeat = clientEnd('release');
/** A borrowed seat given back before its borrow ends is recorded as `seat.returned`. */
export const returnSeat = clientEnd('return');

async function release(
  ctx: ServiceContext,
  input: { licenseKey: string; sessionId: string },
  caller: SeatCaller,
  facts: SeatCallFacts,
  linger: boolean,
): Promise<Result<SeatReleased, InvalidInput | LicenseNotFound | SessionNotFound>> {
  const invalid = checkSessionId(input.sessionId);
  if (invalid) return err(invalid);
  const license = await licenseOfKey(ctx, input.licenseKey, facts);
  if (!license) return err(new LicenseNotFound());
  const { licenseId } = license;

  const outcome = await withLoadedLicense(ctx, licenseId, caller.rateLimit, (rate) =>
    ctx.seats.release(licenseId, input.sessionId, false, rate, { linger }),
  );
  const { seats } = outcome;
  let end: { endedAt: Date; reason: EndReason };
  if (outcome.state === 'released') end = { endedAt: seats.changedAt, reason: 'RELEASED' };
  else if (outcome.state === 'already-expired') end = { endedAt: new Date(outcome.leaseExpiresAtMs!), reason: 'EXPIRED' };
  else {
    // The store held no such lease of this license: only Postgres knows whether the session
    // existed. A lease held there was this license's, so the common case skips this read.
    const row = await findSession(ctx, licenseId, input.sessionId);
    if (!row) return err(new SessionNotFound());
    facts.fingerprint = row.fingerprint;
    if (row.endedAt) return ok({ session: sessionFromRow(row), seats });
    end =
      row.expiresAt <= seats.changedAt ? { endedAt: row.expiresAt, reason: 'EXPIRED' } : { endedAt: seats.changedAt, reason: 'RELEASED' };
  }
  const actor: Actor = { type: 'license', id: licenseId, orgId: license.orgId, requestId: caller.requestId };
  const [ended] = await databaseWork(() =>
    endSessionsInTenant(ctx.db, actor, [{ id: input.sessionId, endedAt: end.endedAt }], end.reason, seats),
  );
  // Not ended here: someone else ended it first (the sweeper, a revoke), or its acquire has not committed yet.
  const session = ended ?? (await findSession(ctx, licenseId, input.sessionId));
  if (!session) return err(new SessionNotFound());
  facts.fingerprint = session.fingerprint;
  return ok({ session: sessionFromRow(session), seats });
}

export async function seatCount(ctx: ServiceContext, licenseId: string): Promise<SeatCountDetail> {
  const read = async () => {
    const count = await ctx.seats.count(licenseId);
    return count ? { kind: 'counted' as const, count } : { kind: 'unloaded' as const };
  };
  const outcome = await withLoadedLicense(ctx, licenseId, undefined, read);
  return outcome.count;
}

/**
 * Whether a published count tells a subscriber that holds `known` (the last count it was told)
 * anything: a count published before `known` was read, or `known` again (published by the read's
 * own reload, or once for the line and once for the seats by the same change), does not.
 */
export function tellsNews(count: SeatCount, known: SeatCount | undefined): boolean {
  if (!known) return true;
  const older = count.changedAt < known.changedAt;
  const repeat = count.changedAt.getTime() === known.changedAt.getTime() && count.used === known.used && count.max === known.max;
  return !older && !repeat;
}

/**
 * The license's seat count now, then every change, for a subscriber of its organization.
 * Attaches first, then reads the current count, so no change can fall between the two; a
 * change published before the read may still arrive after it, and is skipped.
 */
export async function seatCountUpdates(
  ctx: ServiceContext,
  orgId: string,
  licenseId: string,
): Promise<Result<AsyncIterableIterator<SeatCount>, InvalidInput>> {
  if (!(await getLicense(ctx, orgId, licenseId))) return err(new InvalidInput('No license with this id.', 'licenseId'));
  const messages = await ctx.pubsub.subscribe(seatChannel(licenseId));
  try {
    const current = await seatCount(ctx, licenseId);
    let known: SeatCount = current;
    return ok(
      subscriptionStream([current], messages, (message) => {
        const count = parseCountMessage(licenseId, message);
        if (!tellsNews(count, known)) return undefined;
        known = count;
        return count;
      }),
    );
  } catch (error) {
    await messages.return?.();
    throw error;
  }
}

/** Force-releases a session (operator action): its seat is free at once and it cannot heartbeat again. */
export async function revokeSession(ctx: ServiceContext, actor: Actor, sessionId: string): Promise<Result<SessionView, SessionNotFound>> {
  const row = await getSession(ctx, actor.orgId, sessionId);
  if (!row) return err(new SessionNotFound());
  if (row.endedAt) return ok(sessionFromRow(row));
  const { seats } = await withLoadedLicense(ctx, row.licenseId, undefined, () => ctx.seats.release(row.licenseId, row.id, false));
  const endedAt = new Date(ctx.clock.now());
  const [ended] = await tenantWork(ctx, actor.orgId, (tx) => endSessions(tx, actor, [{ id: row.id, endedAt }], 'REVOKED', seats));
  return ok(sessionFromRow(ended ?? (await getSession(ctx, actor.orgId, sessionId)) ?? row));
}
