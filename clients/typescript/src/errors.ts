/**
 * Every failure the SDK reports is a LeaseholdError with a stable `code`: the server's refusal
 * codes as the server names them, the transport's, and the offline verifier's.
 */

/** The server refused: the license or session is not in a state that allows the operation. */
export type RefusalCode =
  | 'NOT_FOUND' // no license has this key
  | 'SUSPENDED'
  | 'REVOKED'
  | 'EXPIRED' // the license expired
  | 'NO_SEATS_AVAILABLE'
  | 'TOO_MANY_MACHINES'
  | 'SESSION_EXPIRED'
  | 'SESSION_NOT_FOUND'
  | 'METER_EXHAUSTED' // recordUsage: the amount would pass the meter's limit + overage this period
  | 'QUEUE_TICKET_EXPIRED' // acquire({ queue: true }): the place in line lapsed, or its seat was not claimed in time
  | 'QUEUE_TICKET_NOT_FOUND';

/** The request did not get an answer the SDK can use. */
export type TransportCode =
  | 'NETWORK_ERROR' // unreachable, connection cut, timed out
  | 'SERVICE_UNAVAILABLE' // the server answered that a store it needs is down
  | 'RATE_LIMITED'
  | 'INVALID_RESPONSE' // not a GraphQL answer (a proxy's error page, say)
  | 'INTERNAL'
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PERSISTED_QUERY_NOT_FOUND';

/** A signed document failed offline verification. */
export type VerificationCode =
  | 'TOKEN_MALFORMED'
  | 'SIGNATURE_INVALID' // not signed by a key of the JWKS, or altered after signing
  | 'TOKEN_TYPE_MISMATCH' // a certificate or validation answer shown where a lease is expected, say
  | 'ISSUER_MISMATCH'
  | 'CLAIM_MISSING'
  | 'SESSION_MISMATCH'
  | 'LICENSE_MISMATCH'
  | 'FINGERPRINT_MISMATCH'
  | 'NONCE_MISMATCH' // a replayed answer: not the one to the request the caller made
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'JWKS_UNAVAILABLE';

/** The seat's lease ran out while the server could not be reached; `ABORTED`: acquire's signal stopped it waiting in line. */
export type SeatCode = 'LEASE_EXPIRED' | 'ABORTED';

/** The fingerprint helper found no machine id on this OS (containers: set LEASEHOLD_MACHINE_ID). */
export type FingerprintCode = 'MACHINE_ID_UNAVAILABLE';

export type LeaseholdErrorCode = RefusalCode | TransportCode | VerificationCode | SeatCode | FingerprintCode;

const RETRYABLE: ReadonlySet<LeaseholdErrorCode> = new Set([
  'NETWORK_ERROR',
  'SERVICE_UNAVAILABLE',
  'RATE_LIMITED',
  'INVALID_RESPONSE',
  'INTERNAL',
  'JWKS_UNAVAILABLE',
]);

export interface LeaseholdErrorDetails {
  /** Seconds to wait before trying again, when the server said (RATE_LIMITED). */
  retryAfter?: number;
  /** The seats in use when NO_SEATS_AVAILABLE was answered. */
  seats?: { used: number; max: number };
  /** The meter's state when METER_EXHAUSTED was answered. */
  meter?: MeterState;
  cause?: unknown;
}

/** A meter of the license in its current period (`recordUsage`). */
export interface MeterState {
  name: string;
  used: number;
  limit: number;
  /** What the meter still takes this period, overage included. */
  remaining: number;
  /** undefined for a LIFETIME meter. */
  periodEndsAt: Date | undefined;
}

export class LeaseholdError extends Error {
  override readonly name = 'LeaseholdError';
  readonly code: LeaseholdErrorCode;
  /** True when the same call may succeed later without anything changing on the license. */
  readonly retryable: boolean;
  readonly retryAfter: number | undefined;
  readonly seats: { used: number; max: number } | undefined;
  readonly meter: MeterState | undefined;

  constructor(code: LeaseholdErrorCode, message: string, details: LeaseholdErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    this.retryAfter = details.retryAfter;
    this.seats = details.seats;
    this.meter = details.meter;
  }
}
