/** Local fan-out shared by both pub/sub stores: one upstream subscription per channel, however many listeners here. */
import { pushIterator } from '../../lib/asyncIterators.ts';

type Listener = (message: string) => void;

/** Local fan-out shared by both variants; `onFirst`/`onLast` attach and detach the channel upstream. */
export function fanOut(onFirst: (channel: string) => Promise<unknown>, onLast: (channel: string) => Promise<unknown>) {
  const listeners = new Map<string, Set<Listener>>();
  return {
    deliver(channel: string, message: string) {
      const set = listeners.get(channel);
      if (set) for (const listener of set) listener(message);
    },
    subscribe(channel: string, signal?: AbortSignal): Promise<AsyncIterableIterator<string>> {
      return pushIterator<string>(signal, async (push) => {
        let set = listeners.get(channel);
        if (!set) listeners.set(channel, (set = new Set()));
        set.add(push);
        if (set.size === 1) await onFirst(channel);
        return async () => {
          set.delete(push);
          if (set.size === 0) {
            listeners.delete(channel);
            await onLast(channel);
          }
        };
      });
    },
  };
}
