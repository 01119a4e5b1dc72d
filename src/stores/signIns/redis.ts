/**
 * Sign-in state on Redis: `lh:sis:{<sessionId>}` holds `live` or `ended`, and
 * `lh:sia:{<account>}:<address>` exists while the account's sign-in from that address is
 * remembered. Single-key commands (SET NX GET, SET, GET, EXISTS; Redis 7), so each is atomic and every
 * key may live on any Cluster node.
 */
import type { RedisConnection } from '../redisConnection.ts';
import type { SignInStore } from './contract.ts';

const sessionKey = (sessionId: string) => `lh:sis:{${sessionId}}`;
const addressKey = (account: string, address: string) => `lh:sia:{${account}}:${address}`;

export function createRedisSignInStore(redis: RedisConnection): SignInStore {
  return {
    async sessionState(sessionId) {
      const state = await redis.get(sessionKey(sessionId));
      return state === 'live' || state === 'ended' ? state : undefined;
    },
    async rememberSession(sessionId, state, ttlSeconds) {
      // SET … NX GET (Redis 7): one step that keeps what was there and says what it was.
      const held = await redis.set(sessionKey(sessionId), state, 'EX', ttlSeconds, 'NX', 'GET');
      return held === 'live' || held === 'ended' ? held : state;
    },
    async endSessions(sessionIds, ttlSeconds) {
      await Promise.all(sessionIds.map((id) => redis.set(sessionKey(id), 'ended', 'EX', ttlSeconds)));
    },
    async rememberAddress(account, address, ttlSeconds) {
      await redis.set(addressKey(account, address), '1', 'EX', ttlSeconds);
    },
    async knowsAddress(account, address) {
      return (await redis.exists(addressKey(account, address))) === 1;
    },
  };
}
