/**
 * Collects per-key facts in memory and writes them in one batch per flush, so a hot path
 * (a heartbeat, an API-key request) never waits for Postgres. A failed write keeps its
 * entries for the next flush, merged with whatever arrived meanwhile.
 */
export interface BatchBuffer<K, V> {
  record(key: K, value: V): void;
  /** Writes everything recorded since the last flush; resolves to how many keys it wrote. */
  flush(): Promise<number>;
  /** Keys waiting for the next flush. */
  readonly size: number;
}

export function createBatchBuffer<K, V>(options: {
  write: (batch: Map<K, V>) => Promise<void>;
  /** How a newer value for a key combines with an older one; by default the newer wins. */
  merge?: (older: V, newer: V) => V;
}): BatchBuffer<K, V> {
  const merge = options.merge ?? ((_older: V, newer: V) => newer);
  let pending = new Map<K, V>();
  return {
    record(key, value) {
      const older = pending.get(key);
      pending.set(key, older === undefined ? value : merge(older, value));
    },
    async flush() {
      if (pending.size === 0) return 0;
      const batch = pending;
      pending = new Map();
      try {
        await options.write(batch);
      } catch (error) {
        for (const [key, failed] of batch) {
          const newer = pending.get(key);
          pending.set(key, newer === undefined ? failed : merge(failed, newer));
        }
        throw error;
      }
      return batch.size;
    },
    get size() {
      return pending.size;
    },
  };
}
