/**
 * The seam where every seat operation's outcome is known. Each operation of the seat service
 * runs through `observed`, which reports exactly one `SeatOutcome` to `ctx.seatOutcomes`: its
 * success kind, or `refused` with the error's code (thrown request errors included). Metering,
 * utilization history, the verification log and metrics listen there, not in each operation.
 */
import type { Logger } from '../../lib/logger.ts';
import type { SeatCaller, SeatOperation, SeatOutcome, SeatOutcomeKind, SeatOutcomes, ServiceContext } from '../context.ts';
import { NoSeatsAvailable, RequestError, type DomainError, type Result } from '../errors.ts';

export function createSeatOutcomes(log: Logger): SeatOutcomes {
  const listeners = new Set<(outcome: SeatOutcome) => void>();
  return {
    record(outcome) {
      for (const listener of listeners) {
        try {
          listener(outcome);
        } catch (error) {
          // A listener's bug must never change the client's answer.
          log.error('a seat outcome listener failed', { operation: outcome.operation, error: String(error) });
        }
      }
    },
    listen(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

/** What an operation learns about its call while it runs; it fills these in as it goes. */
export interface SeatCallFacts {
  licenseId: string | null;
  orgId: string | null;
  fingerprint: string | null;
}

/**
 * Runs one seat operation and reports how it ended. `success` names the outcome of a success;
 * a failed result or a thrown error is reported as `refused` with its code, then passed on.
 */
export async function observed<T, E extends DomainError>(
  ctx: ServiceContext,
  operation: SeatOperation,
  caller: SeatCaller,
  fingerprint: string | null,
  run: (facts: SeatCallFacts) => Promise<Result<T, E>>,
  success: (value: T) => SeatOutcomeKind,
): Promise<Result<T, E>> {
  const facts: SeatCallFacts = { licenseId: null, orgId: null, fingerprint };
  const report = (kind: SeatOutcomeKind) =>
    ctx.seatOutcomes.record({ ...kind, operation, at: new Date(ctx.clock.now()), ...facts, caller });
  let result: Result<T, E>;
  try {
    result = await run(facts);
  } catch (error) {
    report({ kind: 'refused', code: error instanceof RequestError ? error.code : 'INTERNAL' });
    throw error;
  }
  if (result.ok) report(success(result.value));
  else
    report({
      kind: 'refused',
      code: result.error.code,
      ...(result.error instanceof NoSeatsAvailable ? { seats: result.error.seats } : {}),
    });
  return result;
}
