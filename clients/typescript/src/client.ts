/**
 * `Leasehold`: one license key on one server. `acquire()` hands back a Seat whose lease was
 * verified offline before it is returned; `validate()` asks for a signed verdict and checks it,
 * nonce included. Every answer is trusted only as far as its signature goes.
 */
import { createRemoteJWKSet, customFetch, decodeJwt, type JWTVerifyGetKey } from 'jose';
import { LeaseholdError, type LeaseholdErrorCode, type MeterState } from './errors.ts';
import {
  AcquireSeat,
  ClaimQueuedSeat,
  HeartbeatQueueTicket,
  HeartbeatSeat,
  HeartbeatSeatWithLease,
  LeaveQueue,
  RecordUsage,
  ReleaseSeat,
  RequestCertificate,
  ValidateLicense,
} from './generated/operations.ts';
import { Seat, type Lease, type SeatBackend, type SeatGrant, type SeatSession } from './seat.ts';
import { createTransport, type Fetch, type Transport } from './transport.ts';
import {
  jwksResolver,
  verifyCertificate,
  verifyLease,
  verifyValidation,
  type CertificateClaims,
  type JwksSource,
  type ValidationClaims,
  type ValidationCode,
  type VerifyOptions,
} from './verify.ts';

export interface LeaseholdOptions {
  /** The license server's base URL, e.g. https://licenses.example.com */
  url: string;
  licenseKey: string;
  /** The key set to verify against: pinned (a JSONWebKeySet), or a URL. Default `${url}/.well-known/jwks.json`. */
  jwks?: JwksSource;
  /** The server's `LEASEHOLD_ISSUER` (default "leasehold"). */
  issuer?: string;
  /** Seconds of clock difference tolerated when checking `exp` and `iat` (default 60). */
  clockTolerance?: number;
  /**
   * The least time the app keeps working offline after a successful heartbeat, at most the
   * lease length; the SDK asks for a freshly signed lease only as often as this needs.
   * Default: half the lease.
   */
  offlineGraceSeconds?: number;
  /** Per request (default 10 000). */
  timeoutMs?: number;
  /** A fetch of your own (Electron's `net.fetch`, a proxy agent); default the runtime's. */
  fetch?: Fetch;
  /** Headers added to every request. */
  headers?: Record<string, string>;
}

export interface AcquireOptions {
  /** A stable id of this machine (1 to 256 characters); see `@leasehold/client/fingerprint`. */
  fingerprint: string;
  /** Facts about the client shown to the vendor (app version, OS), at most 4 kB of JSON. */
  clientInfo?: Record<string, unknown>;
  /** Release the seat when the process receives SIGINT/SIGTERM/SIGHUP or runs out of work, or the page is hidden for good. */
  releaseOnExit?: boolean;
  /**
   * When every seat is taken and the license has a queue: wait in line instead of being refused.
   * `acquire()` then resolves once a seat is set aside for this machine and claimed (or throws
   * QUEUE_TICKET_EXPIRED if the seat was not claimed in time, ABORTED when `signal` aborts).
   */
  queue?: boolean;
  /** Called with the place in line whenever it is read, while waiting. */
  onQueued?: (ticket: QueueTicket) => void;
  /** Stops waiting in line: the ticket is left, and `acquire()` throws ABORTED. */
  signal?: AbortSignal;
}

/** A place in the seat queue of a full license: `position` 1 is next. */
export interface QueueTicket {
  id: string;
  position: number;
  status: 'WAITING' | 'READY' | 'EXPIRED' | 'LEFT' | 'CLAIMED';
  expiresAt: Date;
}

export interface ValidateOptions {
  /** When given, the machine must be activated on the license. */
  fingerprint?: string;
  /** Echoed inside the signed answer; a random one is made when omitted. */
  nonce?: string;
  /** Features the app needs; any one missing answers ENTITLEMENTS_MISSING. */
  entitlements?: string[];
}

/** A license certificate for one machine, verified: the document for running offline for days. */
export interface Certificate {
  token: string;
  claims: CertificateClaims;
  expiresAt: Date;
}

export interface Validation {
  /** True only from a signed answer that was verified, nonce included. */
  valid: boolean;
  code: ValidationCode;
  nonce: string;
  /** The signed answer; the server signs nothing for a key it never issued (NOT_FOUND). */
  claims: ValidationClaims | undefined;
  token: string | undefined;
  expiresAt: Date | undefined;
}

type Refusal = { __typename: string; code?: string; message?: string; seats?: { used: number; max: number } };
type SessionFields = Omit<SeatSession, 'startedAt' | 'lastHeartbeatAt' | 'expiresAt'> & Record<'startedAt' | 'lastHeartbeatAt' | 'expiresAt', string>;
type TicketFields = Omit<QueueTicket, 'expiresAt'> & { expiresAt: string };
type GrantFields = Refusal & { session?: SessionFields; lease?: { token: string }; ticket?: TicketFields };
type AcquireAnswer = { acquireSeat: GrantFields };
type ClaimAnswer = { claimQueuedSeat: GrantFields };
type TicketAnswer = { heartbeatQueueTicket?: Refusal & Partial<TicketFields>; leaveQueue?: Refusal & Partial<TicketFields> };
type HeartbeatAnswer = { heartbeatSeat: Refusal & { session?: { lastHeartbeatAt: string; expiresAt: string }; lease?: { token: string } } };
type ReleaseAnswer = { releaseSeat: Refusal };
type CertificateAnswer = { requestCertificate: Refusal & { certificate?: { token: string } } };
type MeterFields = Omit<MeterState, 'periodEndsAt'> & { periodEndsAt: string | null };
type RecordUsageAnswer = { recordUsage: Refusal & { meter?: MeterFields } };
type ValidateAnswer = { validateLicense: { valid: boolean; code: ValidationCode; signed: { token: string } | null } };

/** Releases go out fast: they run on the way out of the app, and a lost one costs nothing. */
const RELEASE_TIMEOUT_MS = 3_000;
/**
 * How often a waiting client keeps its ticket alive and reads its place: well inside the
 * ticket's life (the license's claimSeconds, 60 s by default), and often enough that a seat set
 * aside for it is claimed within about a second.
 */
const QUEUE_POLL_MS = 1_000;

export class Leasehold {
  readonly #options: LeaseholdOptions;
  readonly #transport: Transport;
  readonly #verify: VerifyOptions;

  constructor(options: LeaseholdOptions) {
    if (!options?.url) throw new TypeError('Leasehold: `url` is required');
    if (!options.licenseKey) throw new TypeError('Leasehold: `licenseKey` is required');
    this.#options = options;
    const fetch: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#transport = createTransport({ url: options.url, fetch, headers: options.headers ?? {}, timeoutMs: options.timeoutMs ?? 10_000 });
    this.#verify = {
      jwks: this.#jwks(options),
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
    };
  }

  #jwks({ jwks, url, fetch }: LeaseholdOptions): JWTVerifyGetKey {
    if (jwks !== undefined && typeof jwks !== 'string' && !(jwks instanceof URL)) return jwksResolver(jwks);
    const location = new URL(jwks ?? `${url.replace(/\/+$/, '')}/.well-known/jwks.json`);
    return createRemoteJWKSet(location, fetch ? { [customFetch]: fetch } : {});
  }

  /** Takes a seat for this machine. Throws a LeaseholdError (`.code`) when refused or unreachable. */
  async acquire(options: AcquireOptions): Promise<Seat> {
    const askedAt = performance.now();
    const backend = this.#backend(options);
    const grant = await backend.acquire();
    return new Seat(grant, askedAt, backend, {
      offlineGraceMs: this.#options.offlineGraceSeconds === undefined ? undefined : this.#options.offlineGraceSeconds * 1000,
      releaseOnExit: options.releaseOnExit ?? false,
    });
  }

  /** Asks the server for a signed verdict on the license and checks it offline, nonce included. */
  async validate(options: ValidateOptions = {}): Promise<Validation> {
    const nonce = options.nonce ?? randomNonce();
    const { validateLicense } = await this.#transport.request<ValidateAnswer>(ValidateLicense, {
      input: { licenseKey: this.#options.licenseKey, fingerprint: options.fingerprint, nonce, entitlements: options.entitlements },
    });
    if (!validateLicense.signed) {
      // Nothing signed can only say no: an unsigned "valid" is not believed.
      if (validateLicense.valid || validateLicense.code !== 'NOT_FOUND') throw new LeaseholdError('SIGNATURE_INVALID', 'The license server sent an unsigned verdict');
      return { valid: false, code: 'NOT_FOUND', nonce, claims: undefined, token: undefined, expiresAt: undefined };
    }
    const token = validateLicense.signed.token;
    const claims = await verifyValidation(token, {
      ...this.#verify,
      nonce,
      ...(options.fingerprint !== undefined ? { fingerprint: options.fingerprint } : {}),
    });
    return { valid: claims.valid === true, code: claims.code, nonce, claims, token, expiresAt: new Date(claims.exp * 1000) };
  }

  /**
   * A certificate of the license for this machine, verified before it is returned. The server
   * activates the machine if it is not yet (TOO_MANY_MACHINES past the license's maxMachines).
   */
  async certificate(options: { fingerprint: string }): Promise<Certificate> {
    const { fingerprint } = options;
    const { requestCertificate: answer } = await this.#transport.request<CertificateAnswer>(RequestCertificate, {
      input: { licenseKey: this.#options.licenseKey, fingerprint },
    });
    if (answer.__typename !== 'CertificateIssued' || !answer.certificate) throw refusal(answer);
    const { token } = answer.certificate;
    // The key names no license id; the certificate does, and verification holds it to its audience.
    let licenseId: unknown;
    try {
      licenseId = decodeJwt(token).sub;
    } catch (error) {
      throw new LeaseholdError('TOKEN_MALFORMED', 'The license server sent a certificate that is not a JWS', { cause: error });
    }
    if (typeof licenseId !== 'string') throw new LeaseholdError('TOKEN_MALFORMED', 'The certificate names no license');
    const claims = await verifyCertificate(token, { ...this.#verify, licenseId, fingerprint });
    return { token, claims, expiresAt: new Date(claims.exp * 1000) };
  }

  /**
   * Takes `amount` from a meter of the license and answers the meter's state. The same
   * `idempotencyKey` again (a retry after a timeout, say) answers the first answer and counts
   * once. Throws a LeaseholdError: METER_EXHAUSTED (with `.meter`) past the meter's limit.
   */
  async recordUsage(meter: string, amount: number, idempotencyKey: string, options: { metadata?: Record<string, unknown> } = {}): Promise<MeterState> {
    const { recordUsage: answer } = await this.#transport.request<RecordUsageAnswer>(RecordUsage, {
      input: { licenseKey: this.#options.licenseKey, meter, amount, idempotencyKey, metadata: options.metadata },
    });
    const state = answer.meter && { ...answer.meter, periodEndsAt: answer.meter.periodEndsAt ? new Date(answer.meter.periodEndsAt) : undefined };
    if (answer.__typename === 'UsageRecorded' && state) return state;
    throw refusal(answer, state);
  }

  #backend({ fingerprint, clientInfo, queue, onQueued, signal }: AcquireOptions): SeatBackend {
    const { licenseKey } = this.#options;
    const lease = async (token: string, session: Pick<SeatSession, 'id' | 'licenseId' | 'fingerprint'>): Promise<Lease> => {
      const claims = await verifyLease(token, { ...this.#verify, licenseId: session.licenseId, fingerprint: session.fingerprint, sessionId: session.id });
      return { token, claims, expiresAt: new Date(claims.exp * 1000) };
    };
    return {
      acquire: async (): Promise<SeatGrant> => {
        signal?.throwIfAborted();
        const { acquireSeat: first } = await this.#transport.request<AcquireAnswer>(AcquireSeat, {
          input: { licenseKey, fingerprint, clientInfo, ...(queue ? { queue: true } : {}) },
        });
        const answer = first.__typename === 'SeatQueued' && first.ticket ? await this.#waitInLine(first.ticket, onQueued, signal) : first;
        if (answer.__typename !== 'SeatGranted' || !answer.session || !answer.lease) throw refusal(answer);
        const session: SeatSession = {
          ...answer.session,
          startedAt: new Date(answer.session.startedAt),
          lastHeartbeatAt: new Date(answer.session.lastHeartbeatAt),
          expiresAt: new Date(answer.session.expiresAt),
        };
        if (session.fingerprint !== fingerprint) throw new LeaseholdError('FINGERPRINT_MISMATCH', 'The server granted a seat to another fingerprint');
        return { session, lease: await lease(answer.lease.token, session) };
      },
      heartbeat: async (session, withLease) => {
        const { heartbeatSeat: answer } = await this.#transport.request<HeartbeatAnswer>(withLease ? HeartbeatSeatWithLease : HeartbeatSeat, {
          input: { licenseKey, sessionId: session.id },
        });
        if (answer.__typename !== 'SeatRenewed' || !answer.session) throw refusal(answer);
        return {
          lastHeartbeatAt: new Date(answer.session.lastHeartbeatAt),
          expiresAt: new Date(answer.session.expiresAt),
          lease: answer.lease ? await lease(answer.lease.token, session) : undefined,
        };
      },
      release: async (session) => {
        const { releaseSeat: answer } = await this.#transport.request<ReleaseAnswer>(
          ReleaseSeat,
          { input: { licenseKey, sessionId: session.id } },
          { timeoutMs: Math.min(RELEASE_TIMEOUT_MS, this.#options.timeoutMs ?? RELEASE_TIMEOUT_MS) },
        );
        if (answer.__typename !== 'SeatReleased') throw refusal(answer);
      },
    };
  }

  /** Keeps a ticket alive until a seat is set aside for it, then claims that seat. */
  async #waitInLine(first: TicketFields, onQueued: AcquireOptions['onQueued'], signal: AbortSignal | undefined): Promise<GrantFields> {
    const { licenseKey } = this.#options;
    const input = { licenseKey, ticketId: first.id };
    let ticket: Refusal & Partial<TicketFields> = { __typename: 'QueueTicket', ...first };
    try {
      while (ticket.status === 'WAITING') {
        onQueued?.({ id: first.id, position: ticket.position!, status: 'WAITING', expiresAt: new Date(ticket.expiresAt!) });
        await pause(QUEUE_POLL_MS, signal);
        ({ heartbeatQueueTicket: ticket = { __typename: 'INVALID_RESPONSE' } } = await this.#transport.request<TicketAnswer>(HeartbeatQueueTicket, { input }));
      }
      if (ticket.__typename !== 'QueueTicket') throw refusal(ticket);
      if (ticket.status !== 'READY') throw new LeaseholdError('QUEUE_TICKET_EXPIRED', `The place in line ended (${ticket.status})`);
      return (await this.#transport.request<ClaimAnswer>(ClaimQueuedSeat, { input })).claimQueuedSeat;
    } catch (error) {
      // Whoever stops waiting gives the place up, so the seat passes to the next in line at once.
      if (signal?.aborted) await this.#transport.request(LeaveQueue, { input }).catch(() => undefined);
      throw error;
    }
  }
}

/** Waits `ms`, or throws ABORTED as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(new LeaseholdError('ABORTED', 'Stopped waiting for a seat'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    if (signal?.aborted) aborted();
    else signal?.addEventListener('abort', aborted, { once: true });
  });
}

function refusal(answer: Refusal, meter?: MeterState): LeaseholdError {
  if (!answer.code) return new LeaseholdError('INVALID_RESPONSE', `The license server answered ${answer.__typename}, which this SDK does not know`);
  return new LeaseholdError(answer.code as LeaseholdErrorCode, answer.message ?? answer.code, {
    ...(answer.seats ? { seats: answer.seats } : {}),
    ...(meter ? { meter } : {}),
  });
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
