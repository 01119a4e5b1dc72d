/** @leasehold/client: the public surface (see README.md). Runs on Node, Bun, Deno, browsers and Electron. */
export { Leasehold, type AcquireOptions, type Certificate, type QueueTicket, type LeaseholdOptions, type ValidateOptions, type Validation } from './client.ts';
export { Seat, type Lease, type SeatEvents, type SeatSession, type SeatState } from './seat.ts';
export {
  verifyCertificate,
  verifyLease,
  verifyValidation,
  type CertificateClaims,
  type JwksSource,
  type LeaseClaims,
  type ValidationClaims,
  type ValidationCode,
  type VerifyCertificateOptions,
  type VerifyLeaseOptions,
  type VerifyOptions,
  type VerifyValidationOptions,
} from './verify.ts';
export {
  LeaseholdError,
  type FingerprintCode,
  type LeaseholdErrorCode,
  type MeterState,
  type RefusalCode,
  type TransportCode,
  type VerificationCode,
} from './errors.ts';
export type { Fetch } from './transport.ts';
