/** Pub/sub inside one process, for the embedded mode. */
import type { ChannelMessage, PubSub } from './contract.ts';
import { fanOut } from './fanOut.ts';

export function createMemoryPubSub(): PubSub {
  const none = async () => {};
  const channels = fanOut<string>(none, none);
  const prefixes = fanOut<ChannelMessage>(none, none);
  return {
    async publish(channel, message) {
      channels.deliver(channel, message);
      for (const prefix of prefixes.keys()) if (channel.startsWith(prefix)) prefixes.deliver(prefix, { channel, message });
    },
    subscribe: channels.subscribe,
    subscribePrefix: prefixes.subscribe,
    async close() {},
  };
}
