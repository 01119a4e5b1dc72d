/**
 * The verification log: every `validateLicense` of a license and every refused seat operation
 * (seats/outcomes.ts), with when, what, the answer and who asked (address, origin,
 * fingerprint). Entries wait in memory and each flush writes them in one transaction, so the
 * request never waits for Postgres; what an instance holds is bounded, and past the bound new
 * entries are dropped and counted in the log rather than held without end while Postgres is away.
 *
 * Entries are kept as long as the finest utilization points (7 days), dropped by a background
 * job. The flush and the job run on the connecting user, across organizations, as the sweeper
 * does: every row names its license and organization, and nothing here reads another's data.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db/client.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SeatOutcome, ServiceContext, Verification, VerificationLog } from '../context.ts';
import { RETENTION_DAYS } from '../utilization/rollUp.ts';

/** How long entries are kept, in days: as long as the minutes of utilization history. */
export const VERIFICATION_RETENTION_DAYS = RETENTION_DAYS.MINUTE;

/** Entries an instance holds at most while Postgres is away. */
const MAX_PENDING = 100_000;
/** Entries per statement: a flush after an outage writes many. */
const CHUNK = 5_000;

async function writeEntries(db: Database, entries: Verification[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const rows = entries.slice(i, i + CHUNK).map((e) => ({
        license_id: e.licenseId,
        at: e.at.toISOString(),
        operation: e.operation,
        result: e.result,
        address: e.address,
        origin: e.origin,
        fingerprint: e.fingerprint,
      }));
      // Licenses deleted meanwhile are skipped by the join.
      await tx.execute(sql`
        insert into license_verifications (org_id, license_id, at, operation, result, address, origin, fingerprint)
        select l.org_id, v.license_id, v.at, v.operation, v.result, v.address, v.origin, v.fingerprint
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
               as v(license_id text, at timestamptz, operation text, result text, address text, origin text, fingerprint text)
          join licenses l on l.id = v.license_id`);
    }
  });
}

/** A refused seat operation of a license as the log records it; undefined for anything else. */
export function refusalEntry(outcome: SeatOutcome): Verification | undefined {
  if (outcome.kind !== 'refused' || !outcome.licenseId) return undefined;
  return {
    licenseId: outcome.licenseId,
    at: outcome.at,
    operation: outcome.operation,
    result: outcome.code,
    address: outcome.caller.clientIp,
    origin: outcome.caller.origin,
    fingerprint: outcome.fingerprint,
  };
}

export function createVerificationLog(db: Database, log: Logger): VerificationLog {
  let sequence = 0;
  let dropped = 0;
  const buffer = createBatchBuffer<number, Verification>({ write: (batch) => writeEntries(db, [...batch.values()]) });
  return {
    record(entry) {
      if (buffer.size >= MAX_PENDING) {
        dropped += 1;
        return;
      }
      buffer.record(sequence++, entry);
    },
    async flush() {
      if (dropped > 0) {
        log.warn('verification log entries dropped while Postgres did not take them', { dropped });
        dropped = 0;
      }
      return buffer.flush();
    },
  };
}

/** Drops entries older than the retention (by the services' clock); answers how many. */
export async function dropOldVerifications(ctx: ServiceContext): Promise<number> {
  const before = new Date(ctx.clock.now() - VERIFICATION_RETENTION_DAYS * 86_400_000).toISOString();
  const dropped = await ctx.db.execute(sql`delete from license_verifications where at < ${before}::timestamptz returning 1`);
  return rowsOf(dropped).length;
}
