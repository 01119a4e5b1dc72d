/**
 * Sign-in state of the embedded mode, in process memory for its one instance: the contract of
 * redis.ts with the same expiry. Expired entries are dropped when read, and all of them once
 * the map has grown past a bound, so memory follows the live sign-ins only.
 */
import type { SignInSessionState, SignInStore } from './contract.ts';

const SWEEP_ABOVE = 10_000;

export function createMemorySignInStore(now: () => number = Date.now): SignInStore {
  const entries = new Map<string, { value: string; untilMs: number }>();
  let sweepAbove = SWEEP_ABOVE;

  const read = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.untilMs > now()) return entry.value;
    entries.delete(key);
    return undefined;
  };
  const write = (key: string, value: string, ttlSeconds: number) => {
    if (entries.size > sweepAbove) {
      const at = now();
      for (const [name, entry] of entries) if (entry.untilMs <= at) entries.delete(name);
      sweepAbove = Math.max(SWEEP_ABOVE, entries.size * 2);
    }
    entries.set(key, { value, untilMs: now() + ttlSeconds * 1000 });
  };
  const sessionKey = (sessionId: string) => `session:${sessionId}`;
  const addressKey = (account: string, address: string) => `address:${account}:${address}`;

  return {
    async sessionState(sessionId) {
      return read(sessionKey(sessionId)) as SignInSessionState | undefined;
    },
    async rememberSession(sessionId, state, ttlSeconds) {
      const held = read(sessionKey(sessionId)) as SignInSessionState | undefined;
      if (held) return held;
      write(sessionKey(sessionId), state, ttlSeconds);
      return state;
    },
    async endSessions(sessionIds, ttlSeconds) {
      for (const id of sessionIds) write(sessionKey(id), 'ended', ttlSeconds);
    },
    async rememberAddress(account, address, ttlSeconds) {
      write(addressKey(account, address), '1', ttlSeconds);
    },
    async knowsAddress(account, address) {
      return read(addressKey(account, address)) !== undefined;
    },
  };
}
