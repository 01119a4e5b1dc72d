/**
 * The per-instance state of API-key authentication: recent lookups and lastUsedAt.
 *
 * Recently resolved keys by secret hash, and the lastUsedAt times waiting to be written.
 * A cached row is believed for `ttlMs`: a key revoked, rotated or changed through another
 * instance takes effect here within that bound; through this instance, at once (the change
 * drops the key from the cache). Expiry times are compared with the clock on every request,
 * so expiry and the end of a rotation's grace period are exact whatever the cache holds.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { ApiKeyRow } from '../../db/rows.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import type { ApiKeyLookups } from '../context.ts';

const CACHE_LIMIT = 10_000;

export function createApiKeyLookups(db: Database, options: { ttlMs: number }): ApiKeyLookups {
  const cache = new Map<string, { key: ApiKeyRow; until: number }>();
  const lastUsed = createBatchBuffer<string, Date>({
    merge: (older, newer) => (newer > older ? newer : older),
    // Keys of every organization in one statement: a system write on the connecting user, not tenant work.
    write: async (batch) => {
      const rows = Array.from(batch, ([id, at]) => ({ id, at: at.toISOString() }));
      await db.execute(sql`
        update api_keys k set last_used_at = greatest(k.last_used_at, v.at)
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id text, at timestamptz)
         where k.id = v.id`);
    },
  });
  return {
    ttlMs: options.ttlMs,
    get(hash, now) {
      const entry = cache.get(hash);
      if (!entry) return undefined;
      if (entry.until > now) return entry.key;
      cache.delete(hash);
      return undefined;
    },
    set(hash, key, now) {
      if (options.ttlMs <= 0) return;
      // Map keeps insertion order: dropping the first entry evicts the oldest.
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(hash, { key, until: now + options.ttlMs });
    },
    forget(keyId) {
      for (const [hash, entry] of cache) if (entry.key.id === keyId) cache.delete(hash);
    },
    lastUsed,
  };
}
