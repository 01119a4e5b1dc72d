/**
 * What every instance must know alike about dashboard sign-ins, kept beside the rate limits:
 * which sign-in sessions have ended (so their access tokens stop working before they expire),
 * and from which addresses each account signed in lately (so the owner still gets in from
 * hers while strangers have used up the account's attempts). The Redis implementation is
 * shared by every instance; the in-process one serves the embedded mode.
 *
 * A sign-in session is one refresh-token family, named by its id (`rtf_…`, the `sid` claim of
 * its access tokens). Postgres is the record of which families have ended; this store caches
 * it, so a state it does not hold is read from Postgres again. An end always overwrites; a state
 * read from Postgres is kept only where nothing is known yet, so an end written while that read
 * was under way is never undone by it.
 */
export type SignInSessionState = 'live' | 'ended';

export interface SignInStore {
  /** What is known of a session here, or undefined when Postgres must be asked. */
  sessionState(sessionId: string): Promise<SignInSessionState | undefined>;
  /** Keeps a state read from Postgres for `ttlSeconds` unless one is known already; answers the state now held. */
  rememberSession(sessionId: string, state: SignInSessionState, ttlSeconds: number): Promise<SignInSessionState>;
  /** Marks sessions ended for `ttlSeconds`, whatever was known of them. */
  endSessions(sessionIds: readonly string[], ttlSeconds: number): Promise<void>;
  /** Notes that `account` signed in from `address`, for `ttlSeconds` from now. */
  rememberAddress(account: string, address: string, ttlSeconds: number): Promise<void>;
  knowsAddress(account: string, address: string): Promise<boolean>;
}
