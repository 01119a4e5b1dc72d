/**
 * Webhook endpoints of an organization: where events go, which types they want, and the
 * secret that signs them (shown once, at creation or rotation; encrypted at rest).
 *
 * A disabled endpoint keeps its queued deliveries: they wait, and are sent when it is enabled
 * again (those whose event has grown older than the maximum age meanwhile become
 * REPLAY_EXPIRED instead). The worker disables an endpoint that answers 410 Gone, or whose every
 * attempt failed for WEBHOOK_DISABLE_AFTER_HOURS, and announces it (`endpoint.disabled`).
 */
import { count, desc, eq } from 'drizzle-orm';
import type { WebhookEndpointRow } from '../../db/rows.ts';
import { webhookEndpoints } from '../../db/schema.ts';
import { appendAudit } from '../audit/auditLog.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { err, InvalidInput, ok, serviceUnavailable, WebhookEndpointNotFound, type Result } from '../errors.ts';
import { isEventTypePattern } from './events.ts';
import { isId, newId } from '../../lib/ids.ts';
import { generateWebhookSecret, openEndpointSecret, sealEndpointSecret, type SecretSlot } from './secrets.ts';
import { SecretUnsealError } from '../encryption/envelope.ts';
import { validateWebhookUrl } from './urls.ts';
import { tenantWork } from '../database.ts';

const LIMITS = {
  description: 500,
  eventTypes: 50,
  endpointsPerOrganization: 100,
  /** How long a rotated-out secret may keep signing. */
  overlapSeconds: 7 * 86_400,
};

/** Sealing needs the wrapping key, which KMS holds when it wraps: its outage is SERVICE_UNAVAILABLE. */
async function sealed(ctx: ServiceContext, secret: string, endpointId: string, slot: SecretSlot): Promise<string> {
  try {
    return await sealEndpointSecret(ctx.webhookSecrets, secret, endpointId, slot);
  } catch (error) {
    throw keyServiceDown(error) ?? error;
  }
}

const keyServiceDown = (error: unknown) =>
  error instanceof SecretUnsealError && error.reason === 'unavailable' ? serviceUnavailable('The key service', error) : undefined;

/** Both secrets sign for a day after a rotation unless asked otherwise. */
export const DEFAULT_OVERLAP_SECONDS = 86_400;

export interface CreateWebhookEndpointInput {
  url: string;
  description?: string | null;
  eventTypes: string[];
  enabled?: boolean | null;
}

/** Absent (undefined or null) fields stay as they are; `description: ""` clears it. */
export interface UpdateWebhookEndpointInput {
  url?: string | null;
  description?: string | null;
  eventTypes?: string[] | null;
  enabled?: boolean | null;
}

export type WebhookEndpointWithSecret = { endpoint: WebhookEndpointRow; secret: string };

function validUrl(ctx: ServiceContext, url: string): string | InvalidInput {
  const verdict = validateWebhookUrl(url, ctx.config);
  return verdict.ok ? verdict.url : new InvalidInput(verdict.message, 'url');
}

function validEventTypes(eventTypes: string[]): string[] | InvalidInput {
  if (eventTypes.length === 0) return new InvalidInput('an endpoint needs at least one event type (or "*")', 'eventTypes');
  if (eventTypes.length > LIMITS.eventTypes) return new InvalidInput(`at most ${LIMITS.eventTypes} event types`, 'eventTypes');
  const unknown = eventTypes.filter((t) => !isEventTypePattern(t));
  if (unknown.length > 0) return new InvalidInput(`unknown event types: ${unknown.join(', ')}`, 'eventTypes');
  return [...new Set(eventTypes)];
}

function validDescription(description: string): string | null | InvalidInput {
  const trimmed = description.trim();
  if (trimmed.length > LIMITS.description)
    return new InvalidInput(`description must be at most ${LIMITS.description} characters`, 'description');
  return trimmed === '' ? null : trimmed;
}

/** What the audit log records of an endpoint: never its secret. */
const described = (e: WebhookEndpointRow) => ({ url: e.url, eventTypes: e.eventTypes, enabled: e.enabled });

export async function createWebhookEndpoint(
  ctx: ServiceContext,
  actor: Actor,
  input: CreateWebhookEndpointInput,
): Promise<Result<WebhookEndpointWithSecret, InvalidInput>> {
  const url = validUrl(ctx, input.url);
  if (url instanceof InvalidInput) return err(url);
  const eventTypes = validEventTypes(input.eventTypes);
  if (eventTypes instanceof InvalidInput) return err(eventTypes);
  const description = validDescription(input.description ?? '');
  if (description instanceof InvalidInput) return err(description);

  const id = newId('whe');
  const secret = generateWebhookSecret();
  const secretCiphertext = await sealed(ctx, secret, id, { slot: 'current' });
  const outcome = await tenantWork(ctx, actor.orgId, async (tx): Promise<WebhookEndpointRow | InvalidInput> => {
    const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(webhookEndpoints).where(eq(webhookEndpoints.orgId, actor.orgId));
    if (n >= LIMITS.endpointsPerOrganization) {
      return new InvalidInput(`an organization can have at most ${LIMITS.endpointsPerOrganization} endpoints`, 'url');
    }
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({ id, orgId: actor.orgId, url, description, eventTypes, enabled: input.enabled ?? true, secretCiphertext })
      .returning();
    await appendAudit(tx, actor, [{ action: 'webhook.created', resourceType: 'webhookEndpoint', resourceId: id, data: described(row!) }]);
    return row!;
  });
  if (outcome instanceof InvalidInput) return err(outcome);
  return ok({ endpoint: outcome, secret });
}

/** Newest first. */
export async function listWebhookEndpoints(ctx: ServiceContext, orgId: string): Promise<WebhookEndpointRow[]> {
  return tenantWork(ctx, orgId, (tx) =>
    tx
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.orgId, orgId))
      .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id)),
  );
}

export async function getWebhookEndpoint(ctx: ServiceContext, orgId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  if (!isId('whe', id)) return undefined;
  const [row] = await tenantWork(ctx, orgId, (tx) => tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)));
  return row;
}

export async function updateWebhookEndpoint(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  patch: UpdateWebhookEndpointInput,
): Promise<Result<WebhookEndpointRow, InvalidInput | WebhookEndpointNotFound>> {
  if (!isId('whe', id)) return err(new WebhookEndpointNotFound());
  const changes: Partial<Pick<WebhookEndpointRow, 'url' | 'description' | 'eventTypes' | 'enabled' | 'disabledReason' | 'failingSince'>> =
    {};
  if (patch.url != null) {
    const url = validUrl(ctx, patch.url);
    if (url instanceof InvalidInput) return err(url);
    changes.url = url;
  }
  if (patch.eventTypes != null) {
    const eventTypes = validEventTypes(patch.eventTypes);
    if (eventTypes instanceof InvalidInput) return err(eventTypes);
    changes.eventTypes = eventTypes;
  }
  if (patch.description != null) {
    const description = validDescription(patch.description);
    if (description instanceof InvalidInput) return err(description);
    changes.description = description;
  }
  if (patch.enabled != null) {
    changes.enabled = patch.enabled;
    // The reason says why the server disabled it; any change of hand makes it moot, and the
    // failures before it no longer count towards disabling it again.
    changes.disabledReason = null;
    changes.failingSince = null;
  }
  const row = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .update(webhookEndpoints)
      .set({ ...changes, updatedAt: new Date(ctx.clock.now()) })
      .where(eq(webhookEndpoints.id, id))
      .returning();
    if (!row) return undefined;
    await appendAudit(tx, actor, [
      {
        action: 'webhook.updated',
        resourceType: 'webhookEndpoint',
        resourceId: id,
        data: { changes: Object.keys(changes), ...described(row) },
      },
    ]);
    return row;
  });
  return row ? ok(row) : err(new WebhookEndpointNotFound());
}

/** Deletes the endpoint with its deliveries and their attempts; its events stay. */
export async function deleteWebhookEndpoint(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
): Promise<Result<WebhookEndpointRow, WebhookEndpointNotFound>> {
  if (!isId('whe', id)) return err(new WebhookEndpointNotFound());
  const row = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning();
    if (!row) return undefined;
    await appendAudit(tx, actor, [{ action: 'webhook.deleted', resourceType: 'webhookEndpoint', resourceId: id, data: described(row) }]);
    return row;
  });
  return row ? ok(row) : err(new WebhookEndpointNotFound());
}

/**
 * Issues a new secret. The replaced one keeps signing beside it for `overlapSeconds` (default
 * a day, 0 to stop it at once, at most 7 days), so receivers can switch without losing an
 * attempt. A second rotation inside an overlap ends the first one's old secret: one previous
 * secret at a time. The replaced secret is sealed again for its new slot and expiry (the
 * ciphertext is bound to both). One that no longer opens (its key gone, or tampered with) is
 * dropped rather than carried over: rotating is how such an endpoint gets a working secret.
 */
export async function rotateWebhookSecret(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  options: { overlapSeconds?: number | null } = {},
): Promise<Result<WebhookEndpointWithSecret, InvalidInput | WebhookEndpointNotFound>> {
  if (!isId('whe', id)) return err(new WebhookEndpointNotFound());
  const overlap = options.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > LIMITS.overlapSeconds) {
    return err(new InvalidInput(`overlapSeconds must be an integer from 0 to ${LIMITS.overlapSeconds}`, 'overlapSeconds'));
  }
  const secret = generateWebhookSecret();
  const secretCiphertext = await sealed(ctx, secret, id, { slot: 'current' });
  const now = new Date(ctx.clock.now());
  const row = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [current] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).for('update');
    if (!current) return undefined;
    let overlapEnds = overlap > 0 ? new Date(now.getTime() + overlap * 1000) : null;
    let previousSecretCiphertext: string | null = null;
    if (overlapEnds) {
      let replaced: string | undefined;
      try {
        replaced = await openEndpointSecret(ctx.webhookSecrets, current.secretCiphertext, id, { slot: 'current' });
      } catch (error) {
        const down = keyServiceDown(error);
        if (down) throw down;
      }
      if (replaced === undefined) overlapEnds = null;
      else previousSecretCiphertext = await sealed(ctx, replaced, id, { slot: 'previous', expiresAt: overlapEnds });
    }
    const [row] = await tx
      .update(webhookEndpoints)
      .set({
        secretCiphertext,
        previousSecretCiphertext,
        previousSecretExpiresAt: overlapEnds,
        updatedAt: now,
      })
      .where(eq(webhookEndpoints.id, id))
      .returning();
    await appendAudit(tx, actor, [
      {
        action: 'webhook.secret-rotated',
        resourceType: 'webhookEndpoint',
        resourceId: id,
        data: { previousSecretExpiresAt: (overlapEnds ?? now).toISOString() },
      },
    ]);
    return row!;
  });
  return row ? ok({ endpoint: row, secret }) : err(new WebhookEndpointNotFound());
}

/** Every secret that signs an attempt made at `nowMs`, newest first. Throws SecretUnsealError. */
export async function liveSecrets(ctx: ServiceContext, endpoint: WebhookEndpointRow, nowMs: number): Promise<string[]> {
  const secrets = [await openEndpointSecret(ctx.webhookSecrets, endpoint.secretCiphertext, endpoint.id, { slot: 'current' })];
  const expiresAt = endpoint.previousSecretExpiresAt;
  if (endpoint.previousSecretCiphertext && expiresAt && expiresAt.getTime() > nowMs) {
    secrets.push(
      await openEndpointSecret(ctx.webhookSecrets, endpoint.previousSecretCiphertext, endpoint.id, { slot: 'previous', expiresAt }),
    );
  }
  return secrets;
}
