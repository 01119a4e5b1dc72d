/**
 * API keys for integrations: `pk_live_…` / `pk_test_…` followed by 43 base64url characters
 * (32 random bytes). Postgres keeps only the SHA-256 of the whole secret and its last four
 * characters: the secret carries 256 random bits, so a fast hash is as safe as a slow one and
 * lets every request be checked with one indexed lookup. The secret is shown once, at creation
 * or rotation.
 *
 * Authentication checks in a fixed order, each refusal with its own `extensions.reason`:
 * exists → not revoked → not expired → right environment → address allowed. Scope checks
 * follow in the schema, the rate limit after them.
 */
import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { ApiKeyRow } from '../../db/rows.ts';
import { apiKeys } from '../../db/schema.ts';
import { inTenant } from '../../db/tenant.ts';
import { appendAudit } from '../audit/auditLog.ts';
import { createBatchBuffer, type BatchBuffer } from '../../lib/batchBuffer.ts';
import { apiKeyData, emitEvent, emitEvents } from '../webhooks/events.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { DomainError, err, ErrorCode, guarded, InvalidInput, ok, RequestError, type Result } from '../errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import { ipInCidrs, validateCidr } from '../../lib/ipAddress.ts';
import { timingSafeEqual } from '../licenses/licenseKeys.ts';
import { isScope, type Principal, type Scope } from '../principals.ts';
import { DEFAULT_TIER, isKnownTier } from '../../config/rateLimitPolicy.ts';
import { base64url, sha256Hex } from '../../lib/encoding.ts';

export type ApiKeyEnvironment = ApiKeyRow['environment'];
export type ApiKeyStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

export class ApiKeyNotFound extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor() {
    super('No API key with this id exists in your organization.');
  }
}

const SECRET_PATTERN = /^pk_(live|test)_[A-Za-z0-9_-]{43}$/;

const LIMITS = {
  name: 100,
  allowlist: 100,
  reason: 500,
  /** A rotated-out secret keeps working at most this long. */
  gracePeriodSeconds: 7 * 86_400,
};

/** API key secrets carry 256 random bits, so a fast hash is right (a slow one would only cost requests). */
export const hashApiKeySecret = sha256Hex;

async function generateSecret(environment: ApiKeyEnvironment) {
  const secret = `pk_${environment}_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { secret, hash: await hashApiKeySecret(secret), hint: secret.slice(-4) };
}

export function apiKeyStatus(key: ApiKeyRow, now = Date.now()): ApiKeyStatus {
  if (key.revokedAt && key.revokedAt.getTime() <= now) return 'REVOKED';
  if (key.expiresAt && key.expiresAt.getTime() <= now) return 'EXPIRED';
  return 'ACTIVE';
}

// ── The per-instance state of authentication: recent lookups and lastUsedAt ────────────────

/**
 * Recently resolved keys by secret hash, and the lastUsedAt times waiting to be written.
 * A cached row is believed for `ttlMs`: a key revoked, rotated or changed through another
 * instance takes effect here within that bound; through this instance, at once (the change
 * drops the key from the cache). Expiry times are compared with the clock on every request,
 * so expiry and the end of a rotation's grace period are exact whatever the cache holds.
 */
export interface ApiKeyLookups {
  readonly ttlMs: number;
  get(hash: string, now: number): ApiKeyRow | undefined;
  set(hash: string, key: ApiKeyRow, now: number): void;
  /** Drops every cached secret of this key. */
  forget(keyId: string): void;
  /** key id → last use; flushed to api_keys.last_used_at in one statement. */
  readonly lastUsed: BatchBuffer<string, Date>;
}

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

// ── Authentication ──────────────────────────────────────────────────────────────────────────

const refuse = (code: 'UNAUTHENTICATED' | 'FORBIDDEN', reason: string, message: string) => new RequestError(code, message, { reason });

/**
 * The principal of an API key secret, or a RequestError saying why not. The lookup runs
 * across organizations (the secret is the only thing the caller has told us), so it reads
 * api_keys on the connecting user rather than inside one tenant.
 */
export async function authenticateApiKey(
  ctx: ServiceContext,
  secret: string,
  request: { clientIp: string; serverEnvironment: ApiKeyEnvironment },
): Promise<Principal> {
  const invalid = () => refuse('UNAUTHENTICATED', 'API_KEY_INVALID', 'The API key is not valid.');
  if (!SECRET_PATTERN.test(secret)) throw invalid();
  const hash = await hashApiKeySecret(secret);
  const now = Date.now();
  let key = ctx.apiKeys.get(hash, now);
  if (!key) {
    const [found] = await guarded('The database', () =>
      ctx.db
        .select()
        .from(apiKeys)
        .where(or(eq(apiKeys.secretHash, hash), eq(apiKeys.previousSecretHash, hash)))
        .limit(1),
    );
    if (found) ctx.apiKeys.set(hash, found, now);
    key = found;
  }
  // The row was found by this hash; comparing again in constant time also guards a stale cache entry.
  const isCurrent = key !== undefined && timingSafeEqual(key.secretHash, hash);
  const isPrevious = key !== undefined && !isCurrent && key.previousSecretHash !== null && timingSafeEqual(key.previousSecretHash, hash);
  if (!key || (!isCurrent && !isPrevious)) throw invalid();
  if (key.revokedAt && key.revokedAt.getTime() <= now) {
    throw refuse('UNAUTHENTICATED', 'API_KEY_REVOKED', 'The API key has been revoked.');
  }
  if (key.expiresAt && key.expiresAt.getTime() <= now) {
    throw refuse('UNAUTHENTICATED', 'API_KEY_EXPIRED', 'The API key has expired.');
  }
  if (isPrevious && !(key.previousExpiresAt && key.previousExpiresAt.getTime() > now)) {
    throw refuse('UNAUTHENTICATED', 'API_KEY_EXPIRED', 'This secret was replaced by a rotation and its grace period is over.');
  }
  if (key.environment !== request.serverEnvironment) {
    throw refuse(
      'UNAUTHENTICATED',
      'API_KEY_WRONG_ENVIRONMENT',
      `This is a ${key.environment} key; this server accepts ${request.serverEnvironment} keys.`,
    );
  }
  if (key.ipAllowlist.length > 0 && !ipInCidrs(request.clientIp, key.ipAllowlist)) {
    throw refuse('FORBIDDEN', 'IP_NOT_ALLOWED', 'The API key may not be used from this address.');
  }
  ctx.apiKeys.lastUsed.record(key.id, new Date(now));
  return {
    kind: 'apiKey',
    orgId: key.orgId,
    keyId: key.id,
    environment: key.environment,
    tier: key.tier,
    scopes: key.scopes.filter(isScope),
  };
}

// ── Management (tenant work) ────────────────────────────────────────────────────────────────

export interface CreateApiKeyInput {
  name: string;
  environment: ApiKeyEnvironment;
  scopes: string[];
  /** CIDR blocks or single addresses; empty or absent = any address. */
  ipAllowlist?: string[] | null;
  /** A tier of the rate-limit policy; absent = `standard`. */
  tier?: string | null;
  expiresAt?: Date | null;
}

/** Absent (undefined or null) fields stay as they are; `ipAllowlist: []` lifts the restriction. */
export interface UpdateApiKeyInput {
  name?: string | null;
  scopes?: string[] | null;
  ipAllowlist?: string[] | null;
  tier?: string | null;
}

export interface RotateApiKeyInput {
  /** true (default): same id, new secret; false: a new key with the same settings replaces this one. */
  preserveKeyId?: boolean | null;
  /** How long the replaced secret (or key) keeps working; default 0, at most 7 days, never past the key's expiry. */
  gracePeriodSeconds?: number | null;
}

export type ApiKeyWithSecret = { apiKey: ApiKeyRow; secret: string };

function validName(name: string): string | InvalidInput {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > LIMITS.name) return new InvalidInput(`name must be 1 to ${LIMITS.name} characters`, 'name');
  return trimmed;
}

/** Only scopes the caller holds can be granted, so a key can never mint a stronger key. */
function validScopes(scopes: string[], grantable: readonly Scope[]): Scope[] | InvalidInput {
  if (scopes.length === 0) return new InvalidInput('a key needs at least one scope', 'scopes');
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) return new InvalidInput(`unknown scopes: ${unknown.join(', ')}`, 'scopes');
  const withheld = scopes.filter((s) => !grantable.includes(s as Scope));
  if (withheld.length > 0) return new InvalidInput(`you cannot grant scopes you do not hold: ${withheld.join(', ')}`, 'scopes');
  return [...new Set(scopes as Scope[])];
}

function validAllowlist(entries: string[]): string[] | InvalidInput {
  if (entries.length > LIMITS.allowlist) return new InvalidInput(`at most ${LIMITS.allowlist} allowlist entries`, 'ipAllowlist');
  const out: string[] = [];
  for (const entry of entries) {
    const checked = validateCidr(entry);
    if (!checked.ok) return new InvalidInput(checked.message, 'ipAllowlist');
    if (!out.includes(checked.cidr)) out.push(checked.cidr);
  }
  return out;
}

function validTier(ctx: ServiceContext, tier: string): string | InvalidInput {
  if (!isKnownTier(ctx.config.rateLimits, tier)) {
    return new InvalidInput(`unknown tier "${tier}"; configured: ${Object.keys(ctx.config.rateLimits.apiKeyTiers).join(', ')}`, 'tier');
  }
  return tier;
}

/** What the audit log and the API may show of a key: never its hashes. */
const described = (key: ApiKeyRow) => ({
  name: key.name,
  environment: key.environment,
  hint: key.hint,
  scopes: key.scopes,
  ipAllowlist: key.ipAllowlist,
  tier: key.tier,
  expiresAt: key.expiresAt?.toISOString() ?? null,
});

export async function createApiKey(
  ctx: ServiceContext,
  actor: Actor,
  input: CreateApiKeyInput,
  grantableScopes: readonly Scope[],
): Promise<Result<ApiKeyWithSecret, InvalidInput>> {
  const name = validName(input.name);
  if (name instanceof InvalidInput) return err(name);
  if (input.environment !== 'live' && input.environment !== 'test')
    return err(new InvalidInput('environment must be live or test', 'environment'));
  const scopes = validScopes(input.scopes, grantableScopes);
  if (scopes instanceof InvalidInput) return err(scopes);
  const ipAllowlist = validAllowlist(input.ipAllowlist ?? []);
  if (ipAllowlist instanceof InvalidInput) return err(ipAllowlist);
  const tier = validTier(ctx, input.tier ?? DEFAULT_TIER);
  if (tier instanceof InvalidInput) return err(tier);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now())
    return err(new InvalidInput('expiresAt must be in the future', 'expiresAt'));

  const { secret, hash, hint } = await generateSecret(input.environment);
  const apiKey = await guarded('The database', () =>
    inTenant(ctx.db, actor.orgId, async (tx) => {
      const [row] = await tx
        .insert(apiKeys)
        .values({
          id: newId('key'),
          orgId: actor.orgId,
          name,
          environment: input.environment,
          secretHash: hash,
          hint,
          scopes,
          ipAllowlist,
          tier,
          expiresAt: input.expiresAt ?? null,
        })
        .returning();
      await appendAudit(tx, actor, [{ action: 'apikey.created', resourceType: 'apiKey', resourceId: row!.id, data: described(row!) }]);
      await emitEvent(tx, actor.orgId, 'apikey.created', { apiKey: apiKeyData(row!) });
      return row!;
    }),
  );
  return ok({ apiKey, secret });
}

/** Newest first, revoked and expired keys included. */
export async function listApiKeys(ctx: ServiceContext, orgId: string): Promise<ApiKeyRow[]> {
  return guarded('The database', () =>
    inTenant(ctx.db, orgId, (tx) =>
      tx.select().from(apiKeys).where(eq(apiKeys.orgId, orgId)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id)),
    ),
  );
}

export async function getApiKey(ctx: ServiceContext, orgId: string, id: string): Promise<ApiKeyRow | undefined> {
  if (!isId('key', id)) return undefined;
  const [row] = await guarded('The database', () => inTenant(ctx.db, orgId, (tx) => tx.select().from(apiKeys).where(eq(apiKeys.id, id))));
  return row;
}

export async function updateApiKey(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  patch: UpdateApiKeyInput,
  grantableScopes: readonly Scope[],
): Promise<Result<ApiKeyRow, InvalidInput | ApiKeyNotFound>> {
  if (!isId('key', id)) return err(new ApiKeyNotFound());
  const changes: Partial<Pick<ApiKeyRow, 'name' | 'scopes' | 'ipAllowlist' | 'tier'>> = {};
  if (patch.name != null) {
    const name = validName(patch.name);
    if (name instanceof InvalidInput) return err(name);
    changes.name = name;
  }
  if (patch.scopes != null) {
    const scopes = validScopes(patch.scopes, grantableScopes);
    if (scopes instanceof InvalidInput) return err(scopes);
    changes.scopes = scopes;
  }
  if (patch.ipAllowlist != null) {
    const allowlist = validAllowlist(patch.ipAllowlist);
    if (allowlist instanceof InvalidInput) return err(allowlist);
    changes.ipAllowlist = allowlist;
  }
  if (patch.tier != null) {
    const tier = validTier(ctx, patch.tier);
    if (tier instanceof InvalidInput) return err(tier);
    changes.tier = tier;
  }
  const outcome = await guarded('The database', () =>
    inTenant(ctx.db, actor.orgId, async (tx): Promise<ApiKeyRow | ApiKeyNotFound | InvalidInput> => {
      const [current] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
      if (!current) return new ApiKeyNotFound();
      if (apiKeyStatus(current) === 'REVOKED') return new InvalidInput('a revoked key cannot be changed', 'id');
      if (Object.keys(changes).length === 0) return current;
      const [row] = await tx.update(apiKeys).set(changes).where(eq(apiKeys.id, id)).returning();
      await appendAudit(tx, actor, [
        { action: 'apikey.updated', resourceType: 'apiKey', resourceId: id, data: { changes: Object.keys(changes), ...described(row!) } },
      ]);
      return row!;
    }),
  );
  if (outcome instanceof DomainError) return err(outcome);
  ctx.apiKeys.forget(id);
  return ok(outcome);
}

export async function revokeApiKey(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  reason: string | null | undefined,
): Promise<Result<ApiKeyRow, InvalidInput | ApiKeyNotFound>> {
  if (!isId('key', id)) return err(new ApiKeyNotFound());
  if (reason && reason.length > LIMITS.reason) return err(new InvalidInput(`reason must be at most ${LIMITS.reason} characters`, 'reason'));
  const now = new Date();
  const outcome = await guarded('The database', () =>
    inTenant(ctx.db, actor.orgId, async (tx): Promise<ApiKeyRow | ApiKeyNotFound | InvalidInput> => {
      // A key whose revocation is scheduled (the old key of a rotation) can be revoked now.
      const [row] = await tx
        .update(apiKeys)
        .set({ revokedAt: now, revokeReason: reason?.trim() || null })
        .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.revokedAt), gt(apiKeys.revokedAt, now))))
        .returning();
      if (!row) {
        const [existing] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id));
        return existing ? new InvalidInput('the key is already revoked', 'id') : new ApiKeyNotFound();
      }
      await appendAudit(tx, actor, [
        { action: 'apikey.revoked', resourceType: 'apiKey', resourceId: id, data: { reason: row.revokeReason, hint: row.hint } },
      ]);
      await emitEvent(tx, actor.orgId, 'apikey.revoked', { apiKey: apiKeyData(row) });
      return row;
    }),
  );
  if (outcome instanceof DomainError) return err(outcome);
  ctx.apiKeys.forget(id);
  return ok(outcome);
}

/**
 * Issues a new secret. With `preserveKeyId` the key keeps its id (and so its usage history and
 * audit trail); the new secret works at once and the replaced one until the grace period ends,
 * through `previousSecretHash`. A second rotation inside a grace period ends the first one's
 * old secret at once: one previous secret at a time. Without `preserveKeyId` a new key with the
 * same settings is made and the old key's revocation is set to the end of the grace period
 * (`revokedAt` in the future), so it stops at that instant with no job to run; a previous
 * secret the old key still had from an earlier in-place rotation stops at once.
 *
 * The grace period defaults to 0: a rotation is often the answer to a leaked secret, and the
 * safe default is that the leaked secret stops working; an overlap has to be asked for.
 */
export async function rotateApiKey(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  options: RotateApiKeyInput = {},
): Promise<Result<ApiKeyWithSecret, InvalidInput | ApiKeyNotFound>> {
  if (!isId('key', id)) return err(new ApiKeyNotFound());
  const preserveKeyId = options.preserveKeyId ?? true;
  const grace = options.gracePeriodSeconds ?? 0;
  if (!Number.isInteger(grace) || grace < 0 || grace > LIMITS.gracePeriodSeconds) {
    return err(new InvalidInput(`gracePeriodSeconds must be an integer from 0 to ${LIMITS.gracePeriodSeconds}`, 'gracePeriodSeconds'));
  }
  const now = new Date();
  const outcome = await guarded('The database', () =>
    inTenant(ctx.db, actor.orgId, async (tx): Promise<ApiKeyWithSecret | ApiKeyNotFound | InvalidInput> => {
      const [current] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
      if (!current) return new ApiKeyNotFound();
      const status = apiKeyStatus(current, now.getTime());
      if (status !== 'ACTIVE') return new InvalidInput(`a ${status.toLowerCase()} key cannot be rotated`, 'id');
      // Never past the key's own expiry.
      let graceEnds: Date | null = grace > 0 ? new Date(now.getTime() + grace * 1000) : null;
      if (graceEnds && current.expiresAt && current.expiresAt < graceEnds) graceEnds = current.expiresAt;
      const { secret, hash, hint } = await generateSecret(current.environment);

      if (preserveKeyId) {
        const [row] = await tx
          .update(apiKeys)
          .set({ secretHash: hash, hint, previousSecretHash: graceEnds ? current.secretHash : null, previousExpiresAt: graceEnds })
          .where(eq(apiKeys.id, id))
          .returning();
        await appendAudit(tx, actor, [
          {
            action: 'apikey.rotated',
            resourceType: 'apiKey',
            resourceId: id,
            data: {
              preserveKeyId,
              hint,
              previousHint: current.hint,
              previousSecretExpiresAt: graceEnds?.toISOString() ?? now.toISOString(),
            },
          },
        ]);
        await emitEvent(tx, actor.orgId, 'apikey.rotated', {
          apiKey: apiKeyData(row!),
          preserveKeyId,
          previousSecretExpiresAt: graceEnds?.toISOString() ?? now.toISOString(),
        });
        return { apiKey: row!, secret };
      }

      const [replacement] = await tx
        .insert(apiKeys)
        .values({
          id: newId('key'),
          orgId: current.orgId,
          name: current.name,
          environment: current.environment,
          secretHash: hash,
          hint,
          scopes: current.scopes,
          ipAllowlist: current.ipAllowlist,
          tier: current.tier,
          expiresAt: current.expiresAt,
        })
        .returning();
      const revokesAt = graceEnds ?? now;
      await tx
        .update(apiKeys)
        .set({ revokedAt: revokesAt, revokeReason: `rotated to ${replacement!.id}`, previousSecretHash: null, previousExpiresAt: null })
        .where(eq(apiKeys.id, id));
      await appendAudit(tx, actor, [
        {
          action: 'apikey.rotated',
          resourceType: 'apiKey',
          resourceId: id,
          data: { preserveKeyId, replacedBy: replacement!.id, revokesAt: revokesAt.toISOString() },
        },
        {
          action: 'apikey.created',
          resourceType: 'apiKey',
          resourceId: replacement!.id,
          data: { ...described(replacement!), rotatedFrom: id },
        },
      ]);
      await emitEvents(tx, actor.orgId, [
        {
          type: 'apikey.rotated',
          data: { apiKey: apiKeyData(current), preserveKeyId, replacedBy: replacement!.id, revokesAt: revokesAt.toISOString() },
        },
        { type: 'apikey.created', data: { apiKey: apiKeyData(replacement!), rotatedFrom: id } },
      ]);
      return { apiKey: replacement!, secret };
    }),
  );
  if (outcome instanceof DomainError) return err(outcome);
  ctx.apiKeys.forget(id);
  return ok(outcome);
}
