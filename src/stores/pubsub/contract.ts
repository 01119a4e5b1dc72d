/**
 * Publish/subscribe across instances. On Redis, one subscriber connection serves every local
 * subscription and a channel stays subscribed while someone here listens to it; Lua scripts
 * publish straight from Redis, so a dashboard on any instance sees every instance's changes.
 * The in-process variant serves the embedded mode.
 */
import { Cluster } from 'ioredis';
import type { RedisConnection } from '../redisConnection.ts';

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once attached; from then on yields every message on the channel, in order. */
  subscribe(channel: string, signal?: AbortSignal): Promise<AsyncIterableIterator<string>>;
  close(): Promise<void>;
}

type Listener = (message: string) => void;

/** Local fan-out shared by both variants; `onFirst`/`onLast` attach and detach the channel upstream. */
function fanOut(onFirst: (channel: string) => Promise<unknown>, onLast: (channel: string) => Promise<unknown>) {
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

export function createRedisPubSub(redis: RedisConnection): PubSub {
  // A fresh Cluster connection is not ready at once; its SUBSCRIBEs may wait for it (the request
  // path's connection refuses to queue, see connectRedis).
  const subscriber: RedisConnection =
    redis instanceof Cluster ? redis.duplicate(undefined, { enableOfflineQueue: true }) : redis.duplicate();
  subscriber.on('error', () => {});
  const hub = fanOut(
    (channel) => subscriber.subscribe(channel),
    (channel) => subscriber.unsubscribe(channel),
  );
  subscriber.on('message', (channel: string, message: string) => hub.deliver(channel, message));
  return {
    async publish(channel, message) {
      await redis.publish(channel, message);
    },
    subscribe: hub.subscribe,
    async close() {
      subscriber.disconnect();
    },
  };
}

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

/**
 * An async iterator over pushed values, resolved once attached: buffers what arrives between
 * pulls (nothing lost, order kept) and detaches when the consumer stops or the signal aborts.
 */
async function pushIterator<T>(
  signal: AbortSignal | undefined,
  attach: (push: (value: T) => void) => Promise<() => Promise<void>>,
): Promise<AsyncIterableIterator<T>> {
  const buffer: T[] = [];
  let wake: ((result: IteratorResult<T>) => void) | undefined;
  let done = false;
  const push = (value: T) => {
    if (done) return;
    if (wake) {
      const resolve = wake;
      wake = undefined;
      resolve({ value, done: false });
    } else buffer.push(value);
  };
  const detach = await attach(push);
  const finish = async (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      wake?.({ value: undefined, done: true });
      await detach();
    }
    return { value: undefined, done: true };
  };
  signal?.addEventListener('abort', () => void finish(), { once: true });
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      if (buffer.length > 0) return { value: buffer.shift()!, done: false };
      if (done) return { value: undefined, done: true };
      return new Promise<IteratorResult<T>>((resolve) => (wake = resolve));
    },
    return: finish,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/**
 * A subscription's event stream: `first` (the state at attach time; undefined when there is
 * none to send), then each message that `map` turns into a value (undefined skips it).
 * Hand-rolled rather than an async generator so that `return()` from an unsubscribing client
 * reaches the channel even while no message comes.
 */
export function subscriptionStream<T>(
  first: T | undefined,
  messages: AsyncIterableIterator<string>,
  map: (message: string) => T | undefined,
): AsyncIterableIterator<T> {
  let sentFirst = first === undefined;
  const stream: AsyncIterableIterator<T> = {
    async next() {
      if (!sentFirst) {
        sentFirst = true;
        return { value: first as T, done: false };
      }
      for (;;) {
        const next = await messages.next();
        if (next.done) return { value: undefined, done: true };
        const value = map(next.value);
        if (value !== undefined) return { value, done: false };
      }
    },
    async return() {
      await messages.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
