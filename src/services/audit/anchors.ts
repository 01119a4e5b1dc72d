/**
 * Anchors of the audit chain: an organization's head (the last row's seq and hash) signed by the
 * server's signer, whose key Postgres never sees, and kept in audit_anchors, where the app's
 * roles may only insert (drizzle/0024). A row rewritten with every later hash recomputed, or
 * rows cut off the end, no longer match an anchor signed before, and nobody holding the
 * database can sign a new one. The background jobs anchor every chain whose head moved each
 * AUDIT_ANCHOR_INTERVAL_MS (the bound on what an anchor cannot cover), `anchorAuditChain` on
 * demand.
 */
import { sql } from 'drizzle-orm';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { rowsOf } from '../../db/client.ts';
import type { Transaction } from '../../db/tenant.ts';
import { auditAnchors } from '../../db/schema.ts';
import type { AuditAnchorRow } from '../../db/rows.ts';
import { DocumentType, SignerUnavailableError, signToken } from '../../lib/jws.ts';
import { newId } from '../../lib/ids.ts';
import type { ServiceContext } from '../context.ts';
import { databaseWork, tenantWork } from '../database.ts';
import { serviceUnavailable } from '../errors.ts';

/** Heads anchored by one background run at the most; the rest wait for the next. */
const BATCH = 500;

interface Head {
  orgId: string;
  seq: string;
  hash: string;
}

/** Heads not yet anchored by the signing key: new rows, or a key rotated since the last anchor. */
const unanchoredHeads = (keyId: string, orgId: string | null) => sql`
  select o.id as "orgId", h.seq::text as seq, h.hash
    from organizations o
    cross join lateral (select seq, hash from audit_logs a where a.org_id = o.id order by a.seq desc limit 1) h
   where (${orgId}::text is null or o.id = ${orgId})
     and not exists (select from audit_anchors n where n.org_id = o.id and n.seq = h.seq and n.key_id = ${keyId})
   limit ${BATCH}`;

async function signedAnchor(ctx: ServiceContext, head: Head): Promise<AuditAnchorRow> {
  const signedAt = new Date(ctx.clock.now());
  try {
    const { token, keyId } = await signToken(ctx.signer, DocumentType.auditAnchor, {
      iss: ctx.config.issuer,
      aud: head.orgId,
      seq: Number(head.seq),
      hash: head.hash,
      iat: Math.floor(signedAt.getTime() / 1000),
    });
    return { id: newId('anc'), orgId: head.orgId, seq: Number(head.seq), hash: head.hash, keyId, token, signedAt };
  } catch (error) {
    if (error instanceof SignerUnavailableError) throw serviceUnavailable('The signing service', error);
    throw error;
  }
}

async function insertAnchors(tx: Transaction, anchors: AuditAnchorRow[]): Promise<void> {
  if (anchors.length > 0) await tx.insert(auditAnchors).values(anchors);
}

/** One background run: anchors every organization's head that moved; answers how many it signed. */
export async function anchorAuditChains(ctx: ServiceContext): Promise<number> {
  return databaseWork(() =>
    ctx.db.transaction(async (tx) => {
      // One instance anchors at a time (the others' runs find the lock taken and skip). Keyed by
      // name: as a number it was the bootstrap's, so a first start waited for a run's signing.
      const [lock] = rowsOf<{ taken: boolean }>(
        await tx.execute(sql`select pg_try_advisory_xact_lock(hashtextextended('audit.anchor', 0)) as taken`),
      );
      if (!lock?.taken) return 0;
      const heads = rowsOf<Head>(await tx.execute(unanchoredHeads(ctx.signer.keyId, null)));
      const anchors = await Promise.all(heads.map((head) => signedAnchor(ctx, head)));
      await insertAnchors(tx, anchors);
      return anchors.length;
    }),
  );
}

/** Anchors the organization's head now, unless the signing key anchored it already; null for an empty chain. */
export async function anchorAuditChain(ctx: ServiceContext, orgId: string): Promise<AuditAnchorRow | null> {
  return tenantWork(ctx, orgId, async (tx) => {
    const [head] = rowsOf<Head>(await tx.execute(unanchoredHeads(ctx.signer.keyId, orgId)));
    if (head) {
      const anchor = await signedAnchor(ctx, head);
      await insertAnchors(tx, [anchor]);
      return anchor;
    }
    const [latest] = await tx
      .select()
      .from(auditAnchors)
      .where(sql`${auditAnchors.orgId} = ${orgId} and ${auditAnchors.keyId} = ${ctx.signer.keyId}`)
      .orderBy(sql`${auditAnchors.seq} desc`)
      .limit(1);
    return latest ?? null;
  });
}

/** The organization's anchors in chain order, as stored: nothing here is believed before `anchorVerdict`. */
export function storedAnchors(ctx: ServiceContext, orgId: string): Promise<AuditAnchorRow[]> {
  return tenantWork(ctx, orgId, (tx) =>
    tx
      .select()
      .from(auditAnchors)
      .where(sql`${auditAnchors.orgId} = ${orgId}`)
      .orderBy(auditAnchors.seq, auditAnchors.signedAt),
  );
}

/**
 * What one stored anchor proves: `genuine` when its token verifies under a published key as an
 * anchor of this organization and says what its columns say; `unknown-key` when its key is not
 * published (retired, or invented: either way it proves nothing); `forged` otherwise.
 */
export type AnchorVerdict = 'genuine' | 'unknown-key' | 'forged';

export async function anchorChecker(ctx: ServiceContext, orgId: string): Promise<(anchor: AuditAnchorRow) => Promise<AnchorVerdict>> {
  const published = await ctx.signer.publicJwks();
  const keys = createLocalJWKSet({ keys: published });
  const algorithms = [...new Set(published.map((jwk) => jwk.alg!))];
  return async (anchor) => {
    try {
      const { payload } = await jwtVerify(anchor.token, keys, {
        algorithms,
        issuer: ctx.config.issuer,
        audience: orgId,
        typ: DocumentType.auditAnchor,
      });
      return payload.seq === anchor.seq && payload.hash === anchor.hash ? 'genuine' : 'forged';
    } catch (error) {
      return (error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY' ? 'unknown-key' : 'forged';
    }
  };
}
