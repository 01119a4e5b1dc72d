/**
 * Expected failures are values: services return `Result<T>` whose error side is a `DomainError`
 * with a stable code. The schema maps each subclass to a GraphQL error type of the same name.
 * Failures of the transport (auth, bad input, a store down) are thrown as `RequestError`.
 */
import type { SeatCount } from '../stores/seats/contract.ts';

export const ErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  SUSPENDED: 'SUSPENDED',
  REVOKED: 'REVOKED',
  EXPIRED: 'EXPIRED',
  NO_SEATS_AVAILABLE: 'NO_SEATS_AVAILABLE',
  TOO_MANY_MACHINES: 'TOO_MANY_MACHINES',
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  INVALID_INPUT: 'INVALID_INPUT',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
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
    super(`All ${seats.max} seats are in use.`);
  }
}
export class TooManyMachines extends DomainError {
  readonly code = ErrorCode.TOO_MANY_MACHINES;
  constructor(readonly maxMachines: number) {
    super(`The license is already activated on its maximum of ${maxMachines} machines.`);
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

export type LicenseError = LicenseNotFound | LicenseSuspended | LicenseRevoked | LicenseExpired;

export type Result<T, E extends DomainError = DomainError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E extends DomainError>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** Transport-level failure codes, sent as `extensions.code`. */
export type RequestErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'RATE_LIMITED' | 'SERVICE_UNAVAILABLE';

export class RequestError extends Error {
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RequestError';
  }
}

export const serviceUnavailable = (what: string, cause: unknown) =>
  new RequestError('SERVICE_UNAVAILABLE', `${what} is unavailable; try again shortly.`, {}, { cause });

/** Wraps a store or database call so an outage answers SERVICE_UNAVAILABLE, never a crash. */
export async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw serviceUnavailable(what, error);
  }
}
