/** Local fan-out shared by both pub/sub stores: one upstream subscription per key, however many listeners here. */
import { pushIterator } from '../../lib/asyncIterators.ts';

/** `onFirst`/`onLast` attach and detach the key (a channel, or a channel prefix) upstream. */
export function fanOut<T>(onFirst: (key: string) => Promise<unknown>, onLast: (key: string) => Promise<unknown>) {
  const listeners = new Map<string, Set<(value: T) => void>>();
  return {
    deliver(key: string, value: T) {
      const set = listeners.get(key);
      if (set) for (const listener of set) listener(value);
    },
    /** The keys someone here listens to. */
    keys: () => listeners.keys(),
    subscribe(key: string, signal?: AbortSignal): Promise<AsyncIterableIterator<T>> {
      return pushIterator<T>(signal, async (push) => {
        let set = listeners.get(key);
        if (!set) listeners.set(key, (set = new Set()));
        set.add(push);
        if (set.size === 1) await onFirst(key);
        return async () => {
          set.delete(push);
          if (set.size === 0) {
            listeners.delete(key);
            await onLast(key);
          }
        };
      });
    },
  };
}
