/**
 * Expected failures are values: services return `Result<T>` whose error side is a `DomainError`
 * with a stable code from `ErrorCode`, and every such class lives here. The schema maps each
 * subclass to a GraphQL error type of the same name. Bad input is always `InvalidInput` with the
 * field it names: a field whose result union lists it answers it there, any other field as a
 * BAD_USER_INPUT request error (http/errorMasking.ts). Failures of the transport (credentials,
 * rate limits, a store down) are thrown as `RequestError`.
 */
import type { MeterState } from '../stores/meters/contract.ts';
import type { LicenseRefusal, SeatCount } from '../stores/seats/contract.ts';

export const ErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  SUSPENDED: 'SUSPENDED',
  REVOKED: 'REVOKED',
  EXPIRED: 'EXPIRED',
  NO_SEATS_AVAILABLE: 'NO_SEATS_AVAILABLE',
  TOO_MANY_MACHINES: 'TOO_MANY_MACHINES',
  TOO_MANY_PROCESSES: 'TOO_MANY_PROCESSES',
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  QUEUE_TICKET_EXPIRED: 'QUEUE_TICKET_EXPIRED',
  INVALID_INPUT: 'INVALID_INPUT',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  METER_EXHAUSTED: 'METER_EXHAUSTED',
  MACHINE_IN_USE: 'MACHINE_IN_USE',
  DEACTIVATION_LIMIT: 'DEACTIVATION_LIMIT',
  BORROW_NOT_ALLOWED: 'BORROW_NOT_ALLOWED',
  ID_TOKEN_INVALID: 'ID_TOKEN_INVALID',
  ORGANIZATION_UNKNOWN: 'ORGANIZATION_UNKNOWN',
  ACCOUNT_NOT_PROVISIONED: 'ACCOUNT_NOT_PROVISIONED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
}

export class LicenseNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('No license matches this key.');
  }
}
export class LicenseSuspended extends DomainError {
  readonly code = ErrorCode.SUSPENDED;
  constructor() {
    super('The license is suspended.');
  }
}
export class LicenseRevoked extends DomainError {
  readonly code = ErrorCode.REVOKED;
  constructor() {
    super('The license has been revoked.');
  }
}
export class LicenseExpired extends DomainError {
  readonly code = ErrorCode.EXPIRED;
  constructor() {
    super('The license has expired.');
  }
}
export class NoSeatsAvailable extends DomainError {
  readonly code = ErrorCode.NO_SEATS_AVAILABLE;
  constructor(readonly seats: SeatCount) {
    super(seats.max === 1 ? "The license's one seat is in use." : `All ${seats.max} seats are in use.`);
  }
}
export class TooManyMachines extends DomainError {
  readonly code = ErrorCode.TOO_MANY_MACHINES;
  constructor(readonly maxMachines: number) {
    super(`The license is already activated on its maximum of ${maxMachines} machines.`);
  }
}
export class TooManyProcesses extends DomainError {
  readonly code = ErrorCode.TOO_MANY_PROCESSES;
  constructor(readonly maxProcessesPerMachine: number) {
    super(`This machine already runs its maximum of ${maxProcessesPerMachine} processes on the license.`);
  }
}
export class MachineNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('The license has no active machine with this fingerprint.');
  }
}
export class MachineInUse extends DomainError {
  readonly code = ErrorCode.MACHINE_IN_USE;
  constructor(readonly activeSessions: number) {
    super(`The machine holds ${activeSessions} live session${activeSessions === 1 ? '' : 's'}; release ${activeSessions === 1 ? 'it' : 'them'} first, or deactivate with force.`);
  }
}
export class DeactivationLimitReached extends DomainError {
  readonly code = ErrorCode.DEACTIVATION_LIMIT;
  constructor(readonly maxDeactivationsPerMonth: number) {
    super(`The license may deactivate at most ${maxDeactivationsPerMonth} machines per calendar month (UTC); that many were deactivated this month.`);
  }
}
/** `maxBorrowDays` is 0 or shorter than asked, or `maxBorrowedSeats` are borrowed already. */
export class BorrowNotAllowed extends DomainError {
  readonly code = ErrorCode.BORROW_NOT_ALLOWED;
  constructor(message: string) {
    super(message);
  }
}
export class SessionExpired extends DomainError {
  readonly code = ErrorCode.SESSION_EXPIRED;
  constructor(message = 'The session has ended; acquire a seat again.') {
    super(message);
  }
}
export class SessionNotFound extends DomainError {
  readonly code = ErrorCode.SESSION_NOT_FOUND;
  constructor() {
    super('No session with this id exists for this license.');
  }
}
export class QueueTicketNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('No queue ticket with this id exists for this license.');
  }
}
export class QueueTicketExpired extends DomainError {
  readonly code = ErrorCode.QUEUE_TICKET_EXPIRED;
  constructor() {
    super('The queue ticket lapsed, or the seat set aside for it was not claimed in time; acquire again to queue again.');
  }
}
export class MeterExhausted extends DomainError {
  readonly code = ErrorCode.METER_EXHAUSTED;
  constructor(readonly meter: MeterState) {
    super(`The meter ${meter.name} has no room for this amount in its period.`);
  }
}
export class MeterNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('The license has no meter of this name.');
  }
}
export class InvalidInput extends DomainError {
  readonly code = ErrorCode.INVALID_INPUT;
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export class InvalidCredentials extends DomainError {
  readonly code = ErrorCode.INVALID_CREDENTIALS;
  constructor(message = 'The email or password is not right.') {
    super(message);
  }
}

/** Why single sign-on refused an ID token (or the authorization code standing for one). */
export const IdTokenRefusal = {
  /** Not a compact JWS with a JSON payload, or too long to be one. */
  MALFORMED: 'MALFORMED',
  /** Its `iss` is no configured provider's (or not the provider the code was exchanged with). */
  UNKNOWN_ISSUER: 'UNKNOWN_ISSUER',
  AUDIENCE_MISMATCH: 'AUDIENCE_MISMATCH',
  /** Past its `exp`, or issued longer ago than any ID token lives. */
  EXPIRED: 'EXPIRED',
  /** Its `nbf` or `iat` is in the future. */
  NOT_YET_VALID: 'NOT_YET_VALID',
  /** Signed with an algorithm the provider is not configured for (`none` and HMACs never are). */
  ALGORITHM_NOT_ALLOWED: 'ALGORITHM_NOT_ALLOWED',
  /** The issuer's key set has no key for it. */
  KEY_NOT_FOUND: 'KEY_NOT_FOUND',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  /** A claim the sign-in needs (`sub`, `exp`, `iat`, the email) is missing or not of its type. */
  CLAIM_MISSING: 'CLAIM_MISSING',
  /** Not the nonce the console sent the provider. */
  NONCE_MISMATCH: 'NONCE_MISMATCH',
  EMAIL_NOT_VERIFIED: 'EMAIL_NOT_VERIFIED',
  EMAIL_DOMAIN_NOT_ALLOWED: 'EMAIL_DOMAIN_NOT_ALLOWED',
  /** The provider's token endpoint refused the authorization code. */
  CODE_REFUSED: 'CODE_REFUSED',
} as const;
export type IdTokenRefusal = (typeof IdTokenRefusal)[keyof typeof IdTokenRefusal];

export class IdTokenInvalid extends DomainError {
  readonly code = ErrorCode.ID_TOKEN_INVALID;
  constructor(
    readonly reason: IdTokenRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** A verified token whose claims name no organization the provider's mapping knows (or one its account is not in). */
export class OrganizationUnknown extends DomainError {
  readonly code = ErrorCode.ORGANIZATION_UNKNOWN;
  constructor(message: string) {
    super(message);
  }
}

/** A verified token of a known organization that no user is linked to, and that the provider's settings make or link none for. */
export class AccountNotProvisioned extends DomainError {
  readonly code = ErrorCode.ACCOUNT_NOT_PROVISIONED;
  constructor(message: string) {
    super(message);
  }
}

export class ApiKeyNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('No API key with this id exists in your organization.');
  }
}

export class WebhookEndpointNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('No webhook endpoint with this id exists in your organization.');
  }
}

export class WebhookDeliveryNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('No webhook delivery with this id exists in your organization.');
  }
}

export type LicenseError = LicenseNotFound | LicenseSuspended | LicenseRevoked | LicenseExpired;

/** The error of a store's refusal for the license's own state. */
export function licenseError(reason: LicenseRefusal): LicenseError {
  return reason === 'SUSPENDED' ? new LicenseSuspended() : reason === 'REVOKED' ? new LicenseRevoked() : new LicenseExpired();
}

export type Result<T, E extends DomainError = DomainError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E extends DomainError>(error: E): { ok: false; error: E } => ({ ok: false, error });

/**
 * The value of a result, or its error thrown. Resolvers answer with it: Pothos's errors plugin
 * turns a thrown error that the field's union lists into that member, and http/errorMasking.ts
 * turns an InvalidInput that it does not list into BAD_USER_INPUT naming the field.
 */
export function unwrap<T>(result: Result<T, DomainError>): T {
  if (result.ok) return result.value;
  throw result.error;
}

/** Transport-level failure codes, sent as `extensions.code`. */
export type RequestErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'RATE_LIMITED' | 'SERVICE_UNAVAILABLE';

/** Why a credential was refused, sent as `extensions.reason` beside UNAUTHENTICATED or FORBIDDEN. */
export const RefusalReason = {
  CREDENTIAL_INVALID: 'CREDENTIAL_INVALID',
  /** An access token of a sign-in that logout, a password change or a reused refresh token ended. */
  SESSION_ENDED: 'SESSION_ENDED',
  INSUFFICIENT_SCOPE: 'INSUFFICIENT_SCOPE',
  API_KEY_INVALID: 'API_KEY_INVALID',
  API_KEY_REVOKED: 'API_KEY_REVOKED',
  API_KEY_EXPIRED: 'API_KEY_EXPIRED',
  API_KEY_WRONG_ENVIRONMENT: 'API_KEY_WRONG_ENVIRONMENT',
  IP_NOT_ALLOWED: 'IP_NOT_ALLOWED',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

export interface RequestErrorExtensions {
  reason?: RefusalReason;
  /** The argument at fault, with BAD_USER_INPUT. */
  field?: string;
  /** Seconds, with RATE_LIMITED. */
  retryAfter?: number;
  http?: { status: number; headers?: Record<string, string> };
}

export class RequestError extends Error {
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    readonly extensions: RequestErrorExtensions = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RequestError';
  }
}

export const serviceUnavailable = (what: string, cause: unknown) =>
  new RequestError('SERVICE_UNAVAILABLE', `${what} is unavailable; try again shortly.`, {}, { cause });

/**
 * Postgres's SQLSTATE classes for a value it refused (22: data exception, such as a NUL byte or
 * an out-of-range number; 54: a program limit, such as a row or a statement too large): the
 * input's fault, not an outage.
 */
const INPUT_FAULT_CLASSES = ['22', '54'];

function sqlState(error: unknown): string | undefined {
  for (let e = error; e instanceof Object; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * Wraps a store or database call so an outage answers SERVICE_UNAVAILABLE, never a crash, and a
 * value the database refuses answers BAD_USER_INPUT.
 */
export async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const state = sqlState(error);
    if (state && INPUT_FAULT_CLASSES.includes(state.slice(0, 2))) {
      throw new RequestError('BAD_USER_INPUT', 'A value of this request cannot be stored.', { http: { status: 400 } }, { cause: error });
    }
    throw serviceUnavailable(what, error);
  }
}
