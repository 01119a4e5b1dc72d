/**
 * Seat utilization history, recorded off the request path: each seat outcome (seats/outcomes.ts)
 * adds to its license's minute in memory, and each flush upserts the minutes in one statement.
 * The live count is the seat store's own answer to each operation, never a count kept in this
 * process, so instances serving one license merge their minutes in Postgres: grants, denials
 * and queue entries add up, the peak takes the greatest. Hours and days are rolled up from the
 * minutes by the background job (rollUp.ts).
 *
 * The flush runs on the connecting user, across organizations, as the sweeper does: every row
 * names its license and organization, and nothing here reads another's data.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { createBatchBuffer } from '../../lib/batchBuffer.ts';
import type { SeatOutcome, UtilizationLog } from '../context.ts';

const MINUTE_MS = 60_000;

interface MinuteFigures {
  licenseId: string;
  /** The minute's start, ms since the epoch. */
  at: number;
  peakUsed: number;
  maxSeats: number;
  grants: number;
  denials: number;
  queued: number;
}

/**
 * What one outcome adds to its minute: a new seat (acquired, claimed from the queue, borrowed)
 * is a grant, a refusal for want of a seat a denial, a ticket opened a queue entry. Each
 * outcome that carries the store's count offers it as a candidate for the minute's peak; a
 * renewal of a live lease and a release count nothing else.
 */
function figuresOf(
  outcome: SeatOutcome,
): (Pick<MinuteFigures, 'grants' | 'denials' | 'queued'> & { used: number; max: number }) | undefined {
  const none = { grants: 0, denials: 0, queued: 0 };
  switch (outcome.kind) {
    case 'granted':
      return { ...none, grants: outcome.renewed ? 0 : 1, used: outcome.seats.used, max: outcome.seats.max };
    case 'borrowed':
      return { ...none, grants: 1, used: outcome.seats.used, max: outcome.seats.max };
    case 'queued':
      return { ...none, queued: 1, used: outcome.seats.used, max: outcome.seats.max };
    case 'released':
    case 'returned':
      return { ...none, used: outcome.seats.used, max: outcome.seats.max };
    case 'refused':
      return outcome.code === 'NO_SEATS_AVAILABLE' && outcome.seats
        ? { ...none, denials: 1, used: outcome.seats.used, max: outcome.seats.max }
        : undefined;
    default:
      return undefined;
  }
}

const mergeMinutes = (older: MinuteFigures, newer: MinuteFigures): MinuteFigures => ({
  ...older,
  peakUsed: Math.max(older.peakUsed, newer.peakUsed),
  maxSeats: Math.max(older.maxSeats, newer.maxSeats),
  grants: older.grants + newer.grants,
  denials: older.denials + newer.denials,
  queued: older.queued + newer.queued,
});

/**
 * Upserts minutes of any organization in one statement, in key order (as the roll-up locks
 * them, so the two do not deadlock). A minute already written takes the greatest peak and adds
 * the counts, and is marked for the roll-up again. Each row takes its license's organization;
 * licenses deleted meanwhile are skipped.
 */
async function writeMinutes(db: Database, minutes: MinuteFigures[]): Promise<void> {
  const rows = minutes.map((m) => ({
    license_id: m.licenseId,
    at: new Date(m.at).toISOString(),
    peak_used: m.peakUsed,
    max_seats: m.maxSeats,
    grants: m.grants,
    denials: m.denials,
    queued: m.queued,
  }));
  await db.execute(sql`
    insert into seat_utilization (org_id, license_id, granularity, at, peak_used, max_seats, grants, denials, queued)
    select l.org_id, v.license_id, 'MINUTE', v.at, v.peak_used, v.max_seats, v.grants, v.denials, v.queued
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
           as v(license_id text, at timestamptz, peak_used int, max_seats int, grants int, denials int, queued int)
      join licenses l on l.id = v.license_id
     order by v.license_id, v.at
    on conflict (license_id, granularity, at) do update set
      peak_used = greatest(seat_utilization.peak_used, excluded.peak_used),
      max_seats = greatest(seat_utilization.max_seats, excluded.max_seats),
      grants = seat_utilization.grants + excluded.grants,
      denials = seat_utilization.denials + excluded.denials,
      queued = seat_utilization.queued + excluded.queued,
      rolled_up = false`);
}

export function createUtilizationLog(db: Database): UtilizationLog {
  // A flush that committed but answered an error is written again: counts err on the high side.
  const buffer = createBatchBuffer<string, MinuteFigures>({
    merge: mergeMinutes,
    write: (batch) => writeMinutes(db, [...batch.values()]),
  });
  return {
    record(outcome) {
      if (!outcome.licenseId) return;
      const figures = figuresOf(outcome);
      if (!figures) return;
      const at = Math.floor(outcome.at.getTime() / MINUTE_MS) * MINUTE_MS;
      buffer.record(`${outcome.licenseId}|${at}`, {
        licenseId: outcome.licenseId,
        at,
        peakUsed: figures.used,
        maxSeats: figures.max,
        grants: figures.grants,
        denials: figures.denials,
        queued: figures.queued,
      });
    },
    flush: () => buffer.flush(),
  };
}
