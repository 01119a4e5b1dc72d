/**
 * The audit chain's hash, computed here exactly as the insert trigger computes it in Postgres
 * (drizzle/0002 and 0006 for version 1, 0022 for version 2), so verification never has to
 * believe a function that whoever holds the database could have replaced.
 */
import { createHash } from 'node:crypto';

/** A row as the chain covers it, every value in the text form the trigger hashed. */
export interface ChainRow {
  seq: string;
  id: string;
  orgId: string;
  actorType: string;
  actorId: string | null;
  action: string;
  resourceType: string;
  resourceId: string;
  /** jsonb's own text of the data (`data::text`). */
  data: string;
  requestId: string | null;
  /** created_at in microseconds since the epoch, as a decimal integer. */
  createdAtMicros: string;
  chainVersion: number;
}

const encoder = new TextEncoder();
const sha256Hex = (text: string) => createHash('sha256').update(encoder.encode(text)).digest('hex');

/** to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), from microseconds. */
function isoMicros(micros: string): string {
  const value = BigInt(micros);
  const seconds = new Date(Number(value / 1_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${String(value % 1_000_000n).padStart(6, '0')}Z`;
}

/** Version 1: fields joined by U+001F, NULL as '', after the previous hash and U+001E. */
function hashV1(previous: string | null, r: ChainRow): string {
  const content = [r.seq, r.id, r.orgId, r.actorType, r.actorId ?? '', r.action, r.resourceType, r.resourceId, r.data, r.requestId ?? '']
    .concat(isoMicros(r.createdAtMicros))
    .join('\x1f');
  return sha256Hex(`${previous ?? ''}\x1e${content}`);
}

/** Version 2: a tag, then each field as `<UTF-8 length>:<value>,`, NULL as '-'. */
function hashV2(previous: string | null, r: ChainRow): string {
  const fields = [
    'leasehold-audit-v2',
    previous,
    r.seq,
    r.id,
    r.orgId,
    r.actorType,
    r.actorId,
    r.action,
    r.resourceType,
    r.resourceId,
    r.data,
    r.requestId,
    r.createdAtMicros,
  ];
  return sha256Hex(fields.map((f) => (f === null ? '-' : `${encoder.encode(f).length}:${f},`)).join(''));
}

/** The newest version: every row written now has it, and no older one may follow it. */
export const CHAIN_VERSION = 2;

/** The row's hash after `previous` under its own version; undefined for a version this server does not know. */
export function chainHash(previous: string | null, row: ChainRow): string | undefined {
  if (row.chainVersion === 1) return hashV1(previous, row);
  if (row.chainVersion === 2) return hashV2(previous, row);
  return undefined;
}
