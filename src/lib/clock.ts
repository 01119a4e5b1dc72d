/**
 * The time services decide with. Services read it from their context instead of `Date.now()`,
 * so a test can pin or move time for a whole app (`AppOptions.clock`). Redis scripts read the
 * Redis server's TIME and Postgres its `now()`: those clocks are theirs, not this one.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, as `Date.now()`. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const DAY_MS = 86_400_000;
