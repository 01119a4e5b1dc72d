/**
 * Meter usage reaches Postgres in batches: the meter store decides at once in Redis, and what
 * it took (with the caller's metadata) and the `meter.*` events it caused wait here for the
 * next flush, which writes them in one transaction. A failed flush keeps every entry for the
 * next one; a usage written twice (a flush that committed but answered an error) is one row,
 * since its idempotency key and period are its primary key.
 *
 * The flush runs on the connecting user, across organizations, as the sweeper does: every row
 * names its organization, and nothing here reads another's data.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import { newId } from '../../lib/ids.ts';
import type { MeterUsageLog, RecordedUsage } from '../context.ts';
import { emitEvents, type PendingEvent } from '../webhooks/events.ts';

type Entry = { usage: RecordedUsage } | { orgId: string; event: PendingEvent };

async function write(db: Database, entries: Entry[]): Promise<void> {
  const usages: RecordedUsage[] = [];
  const events = new Map<string, PendingEvent[]>();
  for (const entry of entries) {
    if ('usage' in entry) usages.push(entry.usage);
    else events.set(entry.orgId, [...(events.get(entry.orgId) ?? []), entry.event]);
  }
  await db.transaction(async (tx) => {
    if (usages.length > 0) {
      const rows = usages.map((u) => ({
        org_id: u.orgId,
        license_id: u.licenseId,
        meter: u.meter,
        period: u.period,
        amount: u.amount,
        used: u.used,
        idempotency_key: u.idempotencyKey,
        metadata: u.metadata ?? null,
        recorded_at: u.recordedAt.toISOString(),
      }));
      await tx.execute(sql`
        insert into meter_usage (org_id, license_id, meter, period, amount, used, idempotency_key, metadata, recorded_at)
        select org_id, license_id, meter, period, amount, used, idempotency_key, metadata, recorded_at
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(org_id text, license_id text, meter text, period text,
               amount integer, used integer, idempotency_key text, metadata jsonb, recorded_at timestamptz)
        on conflict do nothing`);
    }
    for (const [orgId, pending] of events) await emitEvents(tx, orgId, pending);
  });
}

export function createMeterUsageLog(db: Database): MeterUsageLog {
  // Each entry under a key of its own: a usage by its primary key, an event by a fresh id.
  const buffer = createBatchBuffer<string, Entry>({ write: (batch) => write(db, [...batch.values()]) });
  return {
    record(usage) {
      buffer.record(`${usage.licenseId}\n${usage.meter}\n${usage.period}\n${usage.idempotencyKey}`, { usage });
    },
    announce(orgId, type, data) {
      buffer.record(newId('evt'), { orgId, event: { type, data } });
    },
    flush: () => buffer.flush(),
  };
}
