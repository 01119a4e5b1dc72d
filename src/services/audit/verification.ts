/**
 * Verifying an organization's audit chain in the app: every row is read (a page at a time, in
 * chain order) and its hash recomputed here (chain.ts), never by the database's function, which
 * whoever holds the database could have replaced; and the rows are held against the chain's
 * signed anchors (anchors.ts), which a chain rewritten with every later hash recomputed, or cut
 * short, no longer matches.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import type { ServiceContext } from '../context.ts';
import { tenantWork } from '../database.ts';
import type { AuditAnchorRow } from '../../db/rows.ts';
import { anchorChecker, storedAnchors } from './anchors.ts';
import { chainHash, CHAIN_VERSION, type ChainRow } from './chain.ts';

export type AuditChainBreakReason =
  'hash-mismatch' | 'link-mismatch' | 'version-mismatch' | 'anchor-mismatch' | 'anchor-forged' | 'truncated';

export interface AuditChainVerdict {
  valid: boolean;
  checkedRows: number;
  /** The first place the chain does not hold, when it is broken; `id` is null where the row is gone. */
  brokenAt: { id: string | null; seq: number; reason: AuditChainBreakReason } | null;
  /** The newest genuine anchor the chain matches: every row up to it is as it was when signed. */
  anchor: AuditAnchorRow | null;
  /** Rows after that anchor, held only by the chain until the next anchor signs them. */
  unanchoredRows: number;
}

const PAGE = 2000;

type StoredRow = ChainRow & { prevHash: string | null; hash: string | null };

/**
 * The chain's rows after `afterSeq`, in order (by the column: the alias `seq` is its text), in
 * the text forms chain.ts hashes.
 */
async function chainPage(ctx: ServiceContext, orgId: string, afterSeq: string): Promise<StoredRow[]> {
  return tenantWork(ctx, orgId, async (tx) =>
    rowsOf<StoredRow>(
      await tx.execute(sql`
        select seq::text as seq, id, org_id as "orgId", actor_type as "actorType", actor_id as "actorId", action,
               resource_type as "resourceType", resource_id as "resourceId", data::text as data, request_id as "requestId",
               ((extract(epoch from created_at) * 1000000)::bigint)::text as "createdAtMicros",
               chain_version as "chainVersion", prev_hash as "prevHash", hash
          from audit_logs
         where org_id = ${orgId} and audit_logs.seq > ${afterSeq}::bigint
         order by audit_logs.seq limit ${PAGE}`),
    ),
  );
}

/**
 * Checks each row's hash under its version, its link to the row before it, and that versions
 * only go up; then that the row at each anchor's seq has the anchored hash and that no anchor
 * lies past the chain's end. An anchor that disagrees counts only once its signature verifies
 * (one that does not is reported as forged: only a database writer makes those); anchors that
 * agree need no check but the newest, which the verdict names. Reports the first place that
 * fails, by seq, and how many rows the chain has.
 */
export async function verifyAuditChain(ctx: ServiceContext, orgId: string): Promise<AuditChainVerdict> {
  // Anchors before rows: each anchor read names a row committed before it, so before the pages.
  const anchors = await storedAnchors(ctx, orgId);
  const check = await anchorChecker(ctx, orgId);
  let checkedRows = 0;
  let brokenAt: AuditChainVerdict['brokenAt'] = null;
  const breaks = (found: NonNullable<AuditChainVerdict['brokenAt']>) => {
    if (!brokenAt || found.seq < brokenAt.seq) brokenAt = found;
  };
  /** A disagreeing anchor: a break at its seq once its signature holds. */
  const disagrees = async (anchor: AuditAnchorRow, id: string | null, reason: 'anchor-mismatch' | 'truncated') => {
    const verdict = await check(anchor);
    if (verdict === 'genuine') breaks({ id, seq: anchor.seq, reason });
    else if (verdict === 'forged') breaks({ id, seq: anchor.seq, reason: 'anchor-forged' });
  };
  const agreeing: AuditAnchorRow[] = [];
  let next = 0;
  let previousHash: string | null = null;
  let version = 1;
  let lastSeq = 0;
  for (let after = '0'; ;) {
    const page = await chainPage(ctx, orgId, after);
    for (const row of page) {
      checkedRows++;
      const seq = Number(row.seq);
      // Anchors of a seq the chain skipped: their row is gone.
      while (next < anchors.length && anchors[next]!.seq < seq) await disagrees(anchors[next++]!, null, 'anchor-mismatch');
      while (next < anchors.length && anchors[next]!.seq === seq) {
        const anchor = anchors[next++]!;
        if (anchor.hash === row.hash) agreeing.push(anchor);
        else await disagrees(anchor, row.id, 'anchor-mismatch');
      }
      lastSeq = seq;
      if (brokenAt) continue;
      const reason: AuditChainBreakReason | undefined =
        row.chainVersion < version || row.chainVersion > CHAIN_VERSION
          ? 'version-mismatch'
          : row.hash !== chainHash(row.prevHash, row)
            ? 'hash-mismatch'
            : row.prevHash !== previousHash
              ? 'link-mismatch'
              : undefined;
      if (reason) breaks({ id: row.id, seq, reason });
      previousHash = row.hash;
      version = row.chainVersion;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  // Anchors past the end: rows were cut off it.
  while (next < anchors.length) await disagrees(anchors[next++]!, null, 'truncated');
  let anchor: AuditAnchorRow | null = null;
  for (let i = agreeing.length - 1; i >= 0 && !anchor; i--) if ((await check(agreeing[i]!)) === 'genuine') anchor = agreeing[i]!;
  const anchoredSeq = anchor?.seq ?? 0;
  const unanchoredRows = anchor ? await rowsAfter(ctx, orgId, anchoredSeq, lastSeq) : checkedRows;
  return { valid: brokenAt === null, checkedRows, brokenAt, anchor, unanchoredRows };
}

/** How many of the chain's rows lie after `seq`, up to the last one verified. */
async function rowsAfter(ctx: ServiceContext, orgId: string, seq: number, lastSeq: number): Promise<number> {
  const [row] = await tenantWork(ctx, orgId, async (tx) =>
    rowsOf<{ n: number }>(
      await tx.execute(sql`select count(*)::int as n from audit_logs where org_id = ${orgId} and seq > ${seq} and seq <= ${lastSeq}`),
    ),
  );
  return row?.n ?? 0;
}
