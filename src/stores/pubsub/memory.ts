/** Pub/sub inside one process, for the embedded mode. */
import type { PubSub } from './contract.ts';
import { fanOut } from './fanOut.ts';

export function createMemoryPubSub(): PubSub {
  const hub = fanOut(
    async () => {},
    async () => {},
  );
  return {
    async publish(channel, message) {
      hub.deliver(channel, message);
    },
    subscribe: hub.subscribe,
    async close() {},
  };
}
