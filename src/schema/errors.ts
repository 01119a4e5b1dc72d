/**
 * Domain errors as GraphQL types: every one implements `Error { code, message }`, and each
 * mutation returns a union of its success type and the errors it can produce.
 */
import {
  DomainError,
  ErrorCode,
  InvalidCredentials,
  InvalidInput,
  LicenseExpired,
  LicenseNotFound,
  LicenseRevoked,
  LicenseSuspended,
  SessionExpired,
  SessionNotFound,
  QueueTicketExpired,
  QueueTicketNotFound,
  BorrowNotAllowed,
  IdTokenInvalid,
  IdTokenRefusal,
  OrganizationUnknown,
  AccountNotProvisioned,
} from '../services/errors.ts';
import { builder } from './builder.ts';

export const ErrorCodeEnum = builder.enumType('ErrorCode', { values: Object.values(ErrorCode) });

export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code }),
    message: t.exposeString('message'),
  }),
});

const simple = [
  LicenseNotFound,
  LicenseSuspended,
  LicenseRevoked,
  LicenseExpired,
  SessionExpired,
  SessionNotFound,
  InvalidCredentials,
  QueueTicketNotFound,
  QueueTicketExpired,
  BorrowNotAllowed,
  OrganizationUnknown,
  AccountNotProvisioned,
] as const;
for (const ErrorClass of simple) {
  builder.objectType(ErrorClass, { name: ErrorClass.name, interfaces: [ErrorInterface] });
}

builder.objectType(InvalidInput, {
  name: 'InvalidInput',
  interfaces: [ErrorInterface],
  description: 'An argument was well-typed but not acceptable; `field` names it.',
  fields: (t) => ({ field: t.exposeString('field') }),
});

const IdTokenRefusalEnum = builder.enumType('IdTokenRefusal', { values: Object.values(IdTokenRefusal) });

builder.objectType(IdTokenInvalid, {
  name: 'IdTokenInvalid',
  interfaces: [ErrorInterface],
  description: 'Single sign-on refused the ID token (or the authorization code standing for one); `reason` says why.',
  fields: (t) => ({ reason: t.field({ type: IdTokenRefusalEnum, resolve: (e) => e.reason }) }),
});

/** The errors of a sign-in through an OpenID Connect provider. */
export const SINGLE_SIGN_ON_ERRORS = [IdTokenInvalid, OrganizationUnknown, AccountNotProvisioned] as const;

/** The errors of an operation on a license key. */
export const LICENSE_ERRORS = [LicenseNotFound, LicenseSuspended, LicenseRevoked, LicenseExpired] as const;
