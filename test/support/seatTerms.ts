/**
 * A license's seat terms as the seat stores take them, for suites (and the bench) that drive a
 * store directly: every policy off, a minute's lease, nothing binding but `maxSeats`.
 */
import type { LicenseTerms } from '../../src/stores/seats/contract.ts';

export const seatTerms = (overrides: Partial<LicenseTerms> = {}): LicenseTerms => ({
  status: 'ACTIVE',
  maxSeats: 3,
  maxMachines: null,
  leaseMs: 60_000,
  reviveMs: 0,
  expiresAtMs: null,
  tier: 'pro',
  features: [],
  overage: 'NONE',
  leasingStrategy: 'PER_MACHINE',
  maxProcessesPerMachine: null,
  lingerMs: 0,
  queue: { enabled: false, maxLength: 100, claimMs: 60_000 },
  maxBorrowMs: 0,
  maxBorrowedSeats: null,
  ...overrides,
});
