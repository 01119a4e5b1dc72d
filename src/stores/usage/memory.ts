/**
 * Usage counters of the embedded mode, in process memory for its one instance. Client
 * addresses are counted exactly with a set, capped per key and day (past the cap the count
 * stops growing), where Redis uses a HyperLogLog.
 */
import { USAGE_RETENTION_SECONDS, type UsageStore, type UsageTotals } from './contract.ts';

const MAX_TRACKED_IPS = 100_000;

interface Entry extends Omit<UsageTotals, 'uniqueClientIps'> {
  clientIps: Set<string>;
}

export function createMemoryUsageStore(clock: () => number = Date.now): UsageStore {
  const entries = new Map<string, Entry>();
  const changed = new Set<string>();
  const dropExpired = () => {
    const oldest = new Date(clock() - USAGE_RETENTION_SECONDS * 1000).toISOString().slice(0, 10);
    for (const [name, entry] of entries) if (entry.day < oldest) entries.delete(name);
  };

  return {
    kind: 'memory',

    async add(deltas) {
      for (const d of deltas) {
        const name = `${d.apiKeyId}|${d.day}`;
        let entry = entries.get(name);
        if (!entry) {
          entry = { ...d, requests: 0, errors: 0, rateLimited: 0, clientIps: new Set(), latency: new Map() };
          entries.set(name, entry);
        }
        entry.orgId = d.orgId;
        entry.tier = d.tier;
        entry.requests += d.requests;
        entry.errors += d.errors;
        entry.rateLimited += d.rateLimited;
        for (const ip of d.clientIps) {
          if (entry.clientIps.size >= MAX_TRACKED_IPS) break;
          entry.clientIps.add(ip);
        }
        for (const [bucket, count] of d.latency) entry.latency.set(bucket, (entry.latency.get(bucket) ?? 0) + count);
        changed.add(name);
      }
    },

    async takeChanged(max) {
      dropExpired();
      const out: UsageTotals[] = [];
      for (const name of changed) {
        if (out.length >= max) break;
        changed.delete(name);
        const entry = entries.get(name);
        if (!entry) continue;
        const { clientIps, ...rest } = entry;
        out.push({ ...rest, uniqueClientIps: clientIps.size, latency: new Map(entry.latency) });
      }
      return out;
    },

    async markChanged(list) {
      for (const e of list) changed.add(`${e.apiKeyId}|${e.day}`);
    },
  };
}
