/**
 * The sign-in store contract as one shared suite: Redis and the in-process store of the
 * embedded mode keep session states and known addresses alike. A test file calls
 * `describeSignInStoreContract` once per implementation and owns the connections.
 */
import { describe, expect, it } from 'vitest';
import type { SignInStore } from '../../src/stores/signIns/contract.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sessionId = () => `rtf_test_${crypto.randomUUID()}`;

export function describeSignInStoreContract(name: string, store: SignInStore): void {
  describe(`the ${name} sign-in store`, () => {
    it('knows nothing of a session at first, then what was remembered', async () => {
      const id = sessionId();
      expect(await store.sessionState(id)).toBeUndefined();
      expect(await store.rememberSession(id, 'live', 60)).toBe('live');
      expect(await store.sessionState(id)).toBe('live');
    });

    it('keeps an end over a live state remembered after it, and answers the end', async () => {
      const id = sessionId();
      await store.endSessions([id], 60);
      expect(await store.rememberSession(id, 'live', 60)).toBe('ended');
      expect(await store.sessionState(id)).toBe('ended');
    });

    it('lets an end overwrite a live state', async () => {
      const [a, b] = [sessionId(), sessionId()];
      await store.rememberSession(a, 'live', 60);
      await store.endSessions([a, b], 60);
      expect([await store.sessionState(a), await store.sessionState(b)]).toEqual(['ended', 'ended']);
    });

    it('of 100 concurrent remembers racing one end, never leaves the session live', async () => {
      const id = sessionId();
      await Promise.all([...Array.from({ length: 100 }, () => store.rememberSession(id, 'live', 60)), store.endSessions([id], 60)]);
      expect(await store.sessionState(id)).toBe('ended');
    });

    it('forgets a state after its time', async () => {
      const id = sessionId();
      await store.rememberSession(id, 'live', 1);
      await sleep(1100);
      expect(await store.sessionState(id)).toBeUndefined();
    });

    it('knows an address for the account it signed in to only, until its time is over', async () => {
      const account = `${crypto.randomUUID()}@example.test`;
      await store.rememberAddress(account, '203.0.113.9', 1);
      expect(await store.knowsAddress(account, '203.0.113.9')).toBe(true);
      expect(await store.knowsAddress(account, '203.0.113.10')).toBe(false);
      expect(await store.knowsAddress(`other-${account}`, '203.0.113.9')).toBe(false);
      await sleep(1100);
      expect(await store.knowsAddress(account, '203.0.113.9')).toBe(false);
    });
  });
}
