/**
 * Reading the verification log (`licenseVerifications`): a license's entries over a range,
 * optionally of one result, newest first, a page at a time. The cursor is the last entry's
 * time and sequence number, so pages hold still while new entries arrive.
 */
import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import type { LicenseVerificationRow } from '../../db/rows.ts';
import { licenseVerifications } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { tenantWork } from '../database.ts';
import { err, InvalidInput, ok, type Result } from '../errors.ts';
import { getLicense } from '../licenses/licenses.ts';

/**
 * What a refused seat operation is logged with beyond the validation codes (its error code, or
 * the request error that refused it); `licenseVerifications` filters by these as well.
 */
export const SEAT_REFUSAL_RESULTS = [
  'NO_SEATS_AVAILABLE',
  'TOO_MANY_PROCESSES',
  'SESSION_EXPIRED',
  'SESSION_NOT_FOUND',
  'QUEUE_TICKET_EXPIRED',
  'INVALID_INPUT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL',
] as const;

export interface VerificationQuery {
  licenseId: string;
  from: Date;
  to: Date;
  result?: string | null;
  first: number;
  after?: string | null;
}

export const verificationCursor = (row: LicenseVerificationRow) => `${row.at.getTime()}.${row.seq}`;

function parseCursor(cursor: string): { at: Date; seq: number } | undefined {
  const match = /^(\d{1,15})\.(\d{1,18})$/.exec(cursor);
  return match ? { at: new Date(Number(match[1])), seq: Number(match[2]) } : undefined;
}

export async function listLicenseVerifications(
  ctx: ServiceContext,
  orgId: string,
  query: VerificationQuery,
): Promise<Result<{ rows: LicenseVerificationRow[]; hasNextPage: boolean }, InvalidInput>> {
  if (!(query.from.getTime() < query.to.getTime())) return err(new InvalidInput('from must be before to', 'from'));
  const cursor = query.after == null ? undefined : parseCursor(query.after);
  if (query.after != null && !cursor) return err(new InvalidInput('after is not a cursor of this list', 'after'));
  if (!(await getLicense(ctx, orgId, query.licenseId))) return err(new InvalidInput('No license with this id.', 'licenseId'));
  const conditions: SQL[] = [
    eq(licenseVerifications.licenseId, query.licenseId),
    gte(licenseVerifications.at, query.from),
    lt(licenseVerifications.at, query.to),
  ];
  if (query.result) conditions.push(eq(licenseVerifications.result, query.result));
  if (cursor) {
    conditions.push(
      or(lt(licenseVerifications.at, cursor.at), and(eq(licenseVerifications.at, cursor.at), lt(licenseVerifications.seq, cursor.seq)))!,
    );
  }
  const rows = await tenantWork(ctx, orgId, (tx) =>
    tx
      .select()
      .from(licenseVerifications)
      .where(and(...conditions))
      .orderBy(desc(licenseVerifications.at), desc(licenseVerifications.seq))
      .limit(query.first + 1),
  );
  return ok({ rows: rows.slice(0, query.first), hasNextPage: rows.length > query.first });
}
