/**
 * Managing an organization's API keys (tenant work): create, list, change, revoke and rotate
 * without downtime. Secrets are made and hashed in secrets.ts and shown once.
 */
import { and, desc, eq, gt, isNull, or } from 'drizzle-orm';
import { DEFAULT_TIER, isKnownTier } from '../../config/rateLimitPolicy.ts';
import type { ApiKeyRow } from '../../db/rows.ts';
import { apiKeys } from '../../db/schema.ts';
import { isId, newId } from '../../lib/ids.ts';
import { validateCidr } from '../../lib/ipAddress.ts';
import { appendAudit } from '../audit/auditLog.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { tenantWork } from '../database.ts';
import { ApiKeyNotFound, DomainError, err, InvalidInput, ok, type Result } from '../errors.ts';
import { isScope, type Scope } from '../principals.ts';
import { apiKeyData, emitEvent, emitEvents } from '../webhooks/events.ts';
import { generateSecret, type ApiKeyEnvironment } from './secrets.ts';

export type ApiKeyStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

const LIMITS = {
  name: 100,
  allowlist: 100,
  reason: 500,
  /** A rotated-out secret keeps working at most this long. */
  gracePeriodSeconds: 7 * 86_400,
};

export function apiKeyStatus(key: ApiKeyRow, now: number): ApiKeyStatus {
  if (key.revokedAt && key.revokedAt.getTime() <= now) return 'REVOKED';
  if (key.expiresAt && key.expiresAt.getTime() <= now) return 'EXPIRED';
  return 'ACTIVE';
}

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
  if (input.expiresAt && input.expiresAt.getTime() <= ctx.clock.now())
    return err(new InvalidInput('expiresAt must be in the future', 'expiresAt'));

  const { secret, hash, hint } = await generateSecret(input.environment);
  const apiKey = await tenantWork(ctx, actor.orgId, async (tx) => {
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
  });
  return ok({ apiKey, secret });
}

/** Newest first, revoked and expired keys included. */
export async function listApiKeys(ctx: ServiceContext, orgId: string): Promise<ApiKeyRow[]> {
  return tenantWork(ctx, orgId, (tx) =>
    tx.select().from(apiKeys).where(eq(apiKeys.orgId, orgId)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id)),
  );
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
  const outcome = await tenantWork(ctx, actor.orgId, async (tx): Promise<ApiKeyRow | ApiKeyNotFound | InvalidInput> => {
    const [current] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    if (!current) return new ApiKeyNotFound();
    if (apiKeyStatus(current, ctx.clock.now()) === 'REVOKED') return new InvalidInput('a revoked key cannot be changed', 'id');
    if (Object.keys(changes).length === 0) return current;
    const [row] = await tx.update(apiKeys).set(changes).where(eq(apiKeys.id, id)).returning();
    await appendAudit(tx, actor, [
      { action: 'apikey.updated', resourceType: 'apiKey', resourceId: id, data: { changes: Object.keys(changes), ...described(row!) } },
    ]);
    return row!;
  });
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
  const now = new Date(ctx.clock.now());
  const outcome = await tenantWork(ctx, actor.orgId, async (tx): Promise<ApiKeyRow | ApiKeyNotFound | InvalidInput> => {
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
  });
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
  const now = new Date(ctx.clock.now());
  const outcome = await tenantWork(ctx, actor.orgId, async (tx): Promise<ApiKeyWithSecret | ApiKeyNotFound | InvalidInput> => {
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
  });
  if (outcome instanceof DomainError) return err(outcome);
  ctx.apiKeys.forget(id);
  return ok(outcome);
}
