/**
 * Whether a dashboard sign-in session still holds, asked on every request of an access token:
 * logout, a password change and a reused refresh token end the session, and its access tokens
 * stop working then, not when they expire.
 *
 * Three layers, each a cache of the next: this instance's memory (SESSION_CACHE_MS), the shared
 * sign-in store (Redis: a live state for LIVE_STATE_SECONDS, an end for as long as a token of
 * the session can still be unexpired), and Postgres, where a family with no unrevoked refresh
 * token has ended. Ending a session writes the store after Postgres and drops it from this
 * instance's memory, so here it takes effect at once and on every other instance within
 * SESSION_CACHE_MS.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { refreshTokens } from '../../db/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SignInSessionState, SignInStore } from '../../stores/signIns/contract.ts';
import type { SignInSessions } from '../context.ts';
import { databaseWork } from '../database.ts';
import { guarded } from '../errors.ts';
import { ACCESS_TOKEN_TTL_SECONDS } from '../signing/accessTokens.ts';

/** How long this instance believes what it last heard of a session: the bound on an end made through another instance. */
export const SESSION_CACHE_MS = 1000;
/**
 * How long the shared store believes a live state read from Postgres. An end always overwrites
 * it; the bound matters only if that write was lost (the store failing just then).
 */
const LIVE_STATE_SECONDS = 60;
const CACHE_LIMIT = 10_000;

export function createSignInSessions(deps: { db: Database; store: SignInStore; clock: Clock }): SignInSessions {
  const cache = new Map<string, { live: boolean; untilMs: number }>();
  const store = <T>(call: () => Promise<T>) => guarded('The sign-in store', call);

  const recorded = async (sessionId: string): Promise<SignInSessionState> => {
    const [live] = await databaseWork(() =>
      deps.db
        .select({ id: refreshTokens.id })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.familyId, sessionId), isNull(refreshTokens.revokedAt)))
        .limit(1),
    );
    return live ? 'live' : 'ended';
  };

  const believe = (sessionId: string, live: boolean, now: number) => {
    // Map keeps insertion order: dropping the first entry evicts the oldest.
    if (cache.size >= CACHE_LIMIT && !cache.has(sessionId)) cache.delete(cache.keys().next().value!);
    cache.set(sessionId, { live, untilMs: now + SESSION_CACHE_MS });
  };

  return {
    async isLive(sessionId) {
      const cached = cache.get(sessionId);
      if (cached && cached.untilMs > deps.clock.now()) return cached.live;
      let state = await store(() => deps.store.sessionState(sessionId));
      if (!state) {
        const read = await recorded(sessionId);
        state = await store(() =>
          deps.store.rememberSession(sessionId, read, read === 'live' ? LIVE_STATE_SECONDS : ACCESS_TOKEN_TTL_SECONDS),
        );
      }
      // An end through this instance while the store was asked wins over what the store said.
      const ended = cache.get(sessionId);
      if (ended && !ended.live && ended.untilMs > deps.clock.now()) return false;
      believe(sessionId, state === 'live', deps.clock.now());
      return state === 'live';
    },
    async end(sessionIds) {
      if (sessionIds.length === 0) return;
      for (const id of sessionIds) believe(id, false, deps.clock.now());
      // The last access token of an ended session was issued before now: the token lifetime bounds it.
      await store(() => deps.store.endSessions(sessionIds, ACCESS_TOKEN_TTL_SECONDS));
    },
  };
}
