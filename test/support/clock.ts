/**
 * A clock a test moves: the services decide with it (`AppOptions.clock`), so a day boundary, a
 * month or hours of failures pass in an instant instead of being slept through.
 */
import type { Clock } from '../../src/lib/clock.ts';

export interface MovableClock extends Clock {
  /** Moves the clock by `ms`, whether it runs or stands still. */
  advance(ms: number): void;
  /** Stops the clock at `at` until it is moved again. */
  freeze(at: Date | number): void;
  /** Back to the real time, running. */
  reset(): void;
}

export function movableClock(): MovableClock {
  let offset = 0;
  let frozenAt: number | undefined;
  return {
    now: () => frozenAt ?? Date.now() + offset,
    advance(ms) {
      if (frozenAt === undefined) offset += ms;
      else frozenAt += ms;
    },
    freeze(at) {
      frozenAt = new Date(at).getTime();
    },
    reset() {
      offset = 0;
      frozenAt = undefined;
    },
  };
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
