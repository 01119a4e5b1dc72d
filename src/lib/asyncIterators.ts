/** Async iterators for subscriptions: values pushed by a source, and a stream that starts with a snapshot. */
/**
 * An async iterator over pushed values, resolved once attached: buffers what arrives between
 * pulls (nothing lost, order kept) and detaches when the consumer stops or the signal aborts.
 */
export async function pushIterator<T>(
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
 * A subscription's event stream: `first` (the state at attach time, in order; empty when there
 * is none to send), then each message that `map` turns into a value (undefined skips it).
 * Hand-rolled rather than an async generator so that `return()` from an unsubscribing client
 * reaches the channel even while no message comes.
 */
export function subscriptionStream<T, M = string>(
  first: readonly T[],
  messages: AsyncIterableIterator<M>,
  map: (message: M) => T | undefined | Promise<T | undefined>,
): AsyncIterableIterator<T> {
  const snapshot = [...first];
  const stream: AsyncIterableIterator<T> = {
    async next() {
      if (snapshot.length > 0) return { value: snapshot.shift()!, done: false };
      for (;;) {
        const next = await messages.next();
        if (next.done) return { value: undefined, done: true };
        const value = await map(next.value);
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

/**
 * `source` while `refusal()` finds nothing to say, asked before each value is handed on: at the
 * first refusal, the source is ended and the refusal is the stream's final value instead.
 */
export function untilRefused<T>(source: AsyncIterator<T>, refusal: () => Promise<T | undefined>): AsyncIterableIterator<T> {
  let ended = false;
  const stream: AsyncIterableIterator<T> = {
    async next() {
      if (ended) return { value: undefined, done: true };
      const next = await source.next();
      if (next.done) return next;
      const last = await refusal();
      if (last === undefined) return next;
      ended = true;
      await source.return?.();
      return { value: last, done: false };
    },
    async return() {
      ended = true;
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
