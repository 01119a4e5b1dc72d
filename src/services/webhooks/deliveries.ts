/**
 * Webhook deliveries as operators see them: the list, one delivery with its attempts, the
 * live feed of status changes, redelivery by hand and test sends.
 *
 * Statuses: PENDING (waiting for its first attempt, or that attempt under way), FAILED (the
 * last attempt failed; the next is due at nextAttemptAt), RETRYING (a later attempt under way),
 * DELIVERED (answered 2xx), DEAD (the last allowed attempt failed), REPLAY_EXPIRED (not sent:
 * the event was too old when its attempt came due), DISABLED (the endpoint answered 410 Gone).
 *
 * Every status change is published on the organization's channel, so a dashboard attached to
 * any instance sees what any worker does. The worker is the one publisher: it announces a
 * delivery as PENDING when it takes it up (the transaction that creates a delivery belongs to
 * the change it reports, and announcing from inside it could announce a delivery that then
 * rolls back), and each status it records after that.
 */
import { and, asc, desc, eq, gte, inArray, like, sql, type SQL } from 'drizzle-orm';
import type { WebhookAttemptRow, WebhookDeliveryRow, WebhookEventRow } from '../../db/rows.ts';
import { webhookAttempts, webhookDeliveries, webhookEvents } from '../../db/schema.ts';
import { subscriptionStream } from '../../lib/asyncIterators.ts';
import { appendAudit } from '../audit/auditLog.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { DomainError, err, guarded, InvalidInput, ok, WebhookDeliveryNotFound, WebhookEndpointNotFound, type Result } from '../errors.ts';
import { TEST_EVENT_TYPE } from './events.ts';
import { isId, newId } from '../../lib/ids.ts';
import { getWebhookEndpoint } from './endpoints.ts';
import { tenantWork } from '../database.ts';

/** A delivery as the API shows it: its claim is the worker's business. */
export type WebhookDelivery = Omit<WebhookDeliveryRow, 'claimToken'>;
export type WebhookDeliveryStatus = WebhookDeliveryRow['status'];

/** Statuses a delivery can be sent again from by hand. */
const REDELIVERABLE: WebhookDeliveryStatus[] = ['DELIVERED', 'DEAD', 'REPLAY_EXPIRED', 'DISABLED'];

// ── Live status ─────────────────────────────────────────────────────────────────────────────

export const deliveryChannel = (orgId: string) => `lh:webhooks:${orgId}`;

const DATE_FIELDS = ['nextAttemptAt', 'lastAttemptAt', 'deliveredAt', 'redeliveredAt', 'createdAt', 'updatedAt'] as const;

export function toDeliveryMessage(row: WebhookDelivery): string {
  const { claimToken: _claim, ...view } = row as WebhookDeliveryRow;
  return JSON.stringify(view);
}

export function parseDeliveryMessage(message: string): WebhookDelivery {
  const parsed = JSON.parse(message) as Record<string, unknown>;
  for (const field of DATE_FIELDS) parsed[field] = parsed[field] == null ? null : new Date(parsed[field] as string);
  return parsed as unknown as WebhookDelivery;
}

/** Publishes a delivery's new state; a publisher that is down costs the live feed, never the delivery. */
export async function publishDeliveries(ctx: ServiceContext, rows: WebhookDelivery[]): Promise<void> {
  await Promise.all(
    rows.map((row) =>
      ctx.pubsub.publish(deliveryChannel(row.orgId), toDeliveryMessage(row)).catch((error: unknown) => {
        ctx.log.warn('could not publish a webhook delivery update', { deliveryId: row.id, error: String(error) });
      }),
    ),
  );
}

/** The organization's delivery updates from now on, optionally of one endpoint only. */
export async function deliveryUpdates(
  ctx: ServiceContext,
  orgId: string,
  endpointId: string | null,
): Promise<Result<AsyncIterableIterator<WebhookDelivery>, InvalidInput>> {
  if (endpointId !== null && !(await getWebhookEndpoint(ctx, orgId, endpointId))) {
    return err(new InvalidInput('No webhook endpoint with this id.', 'endpointId'));
  }
  const messages = await guarded('The publisher', () => ctx.pubsub.subscribe(deliveryChannel(orgId)));
  return ok(
    subscriptionStream<WebhookDelivery>([], messages, (message) => {
      const delivery = parseDeliveryMessage(message);
      return delivery.orgId === orgId && (endpointId === null || delivery.endpointId === endpointId) ? delivery : undefined;
    }),
  );
}

// ── Reads ───────────────────────────────────────────────────────────────────────────────────

export interface WebhookDeliveryFilter {
  status?: WebhookDeliveryStatus | null;
  /** An exact type, or `license.*` for every type of a domain. */
  eventType?: string | null;
  endpointId?: string | null;
}

const columns = {
  id: webhookDeliveries.id,
  orgId: webhookDeliveries.orgId,
  endpointId: webhookDeliveries.endpointId,
  eventId: webhookDeliveries.eventId,
  eventType: webhookDeliveries.eventType,
  status: webhookDeliveries.status,
  attempts: webhookDeliveries.attempts,
  nextAttemptAt: webhookDeliveries.nextAttemptAt,
  lastAttemptAt: webhookDeliveries.lastAttemptAt,
  deliveredAt: webhookDeliveries.deliveredAt,
  redeliveredAt: webhookDeliveries.redeliveredAt,
  createdAt: webhookDeliveries.createdAt,
  updatedAt: webhookDeliveries.updatedAt,
};

/** Newest first; the cursor is the id of the last delivery of the previous page. */
export async function listWebhookDeliveries(
  ctx: ServiceContext,
  orgId: string,
  options: { filter?: WebhookDeliveryFilter | null; first: number; after?: string | null },
) {
  const f = options.filter ?? {};
  const conditions: SQL[] = [eq(webhookDeliveries.orgId, orgId)];
  if (f.status) conditions.push(eq(webhookDeliveries.status, f.status));
  if (f.endpointId) conditions.push(eq(webhookDeliveries.endpointId, f.endpointId));
  if (f.eventType === '*') {
    // every type
  } else if (f.eventType?.endsWith('.*')) {
    conditions.push(like(webhookDeliveries.eventType, `${f.eventType.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`));
  } else if (f.eventType) {
    conditions.push(eq(webhookDeliveries.eventType, f.eventType));
  }
  if (options.after) {
    // Compared in Postgres, at its microsecond precision: a cursor in JavaScript time would lose it.
    conditions.push(
      sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (select created_at, id from webhook_deliveries where id = ${options.after})`,
    );
  }
  const rows = await tenantWork(ctx, orgId, (tx) =>
    tx
      .select(columns)
      .from(webhookDeliveries)
      .where(and(...conditions))
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(options.first + 1),
  );
  return { rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
}

export async function getWebhookDelivery(ctx: ServiceContext, orgId: string, id: string): Promise<WebhookDelivery | undefined> {
  if (!isId('whd', id)) return undefined;
  const [row] = await tenantWork(ctx, orgId, (tx) => tx.select(columns).from(webhookDeliveries).where(eq(webhookDeliveries.id, id)));
  return row;
}

/** Oldest first. */
export async function listWebhookAttempts(ctx: ServiceContext, orgId: string, deliveryId: string): Promise<WebhookAttemptRow[]> {
  return tenantWork(ctx, orgId, (tx) =>
    tx.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(asc(webhookAttempts.attempt)),
  );
}

export async function getWebhookEvent(ctx: ServiceContext, orgId: string, id: string): Promise<WebhookEventRow | undefined> {
  const [row] = await tenantWork(ctx, orgId, (tx) => tx.select().from(webhookEvents).where(eq(webhookEvents.id, id)));
  return row;
}

// ── Sending again, sending a test ───────────────────────────────────────────────────────────

/** A new series of attempts, due now; the maximum event age counts from now (see `redeliveredAt`). */
const newSeries = () =>
  ({
    status: 'PENDING',
    attempts: 0,
    nextAttemptAt: sql`now()`,
    redeliveredAt: sql`now()`,
    deliveredAt: null,
    claimToken: null,
    updatedAt: sql`now()`,
  }) as const;

/**
 * Queues a DELIVERED, DEAD, REPLAY_EXPIRED or DISABLED delivery again as a new series of
 * attempts, due now. The event's age counts from this moment, so an event that was too old to
 * replay by itself is sent when someone asks for it.
 */
export async function redeliverWebhook(
  ctx: ServiceContext,
  actor: Actor,
  deliveryId: string,
): Promise<Result<WebhookDelivery, InvalidInput | WebhookDeliveryNotFound>> {
  if (!isId('whd', deliveryId)) return err(new WebhookDeliveryNotFound());
  const outcome = await tenantWork(ctx, actor.orgId, async (tx): Promise<WebhookDelivery | InvalidInput | WebhookDeliveryNotFound> => {
    const [row] = await tx
      .update(webhookDeliveries)
      .set(newSeries())
      .where(and(eq(webhookDeliveries.id, deliveryId), inArray(webhookDeliveries.status, REDELIVERABLE)))
      .returning(columns);
    if (!row) {
      const [existing] = await tx
        .select({ status: webhookDeliveries.status })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.id, deliveryId));
      return existing
        ? new InvalidInput(
            `a ${existing.status} delivery is still on its way; only ${REDELIVERABLE.join(', ')} ones can be sent again`,
            'deliveryId',
          )
        : new WebhookDeliveryNotFound();
    }
    await appendAudit(tx, actor, [
      { action: 'webhook.redelivered', resourceType: 'webhookDelivery', resourceId: deliveryId, data: { eventId: row.eventId } },
    ]);
    return row;
  });
  return outcome instanceof DomainError ? err(outcome) : ok(outcome);
}

/** Statuses `recoverWebhookDeliveries` sends again: every delivery that did not get through. */
const RECOVERABLE: WebhookDeliveryStatus[] = ['FAILED', 'DEAD', 'REPLAY_EXPIRED'];

/**
 * Sends again, as a new series of attempts due now, every FAILED, DEAD or REPLAY_EXPIRED
 * delivery to the endpoint created since `since` (Svix's "recover"): after an outage of the
 * receiver, one call instead of one redelivery per event. Deliveries on their way (PENDING,
 * RETRYING) or done (DELIVERED) are left as they are. Answers how many were queued; a disabled
 * endpoint's wait until it is enabled again.
 */
export async function recoverWebhookDeliveries(
  ctx: ServiceContext,
  actor: Actor,
  endpointId: string,
  since: Date,
): Promise<Result<{ count: number }, InvalidInput | WebhookEndpointNotFound>> {
  if (since.getTime() > ctx.clock.now()) return err(new InvalidInput('since must not be in the future', 'since'));
  if (!(await getWebhookEndpoint(ctx, actor.orgId, endpointId))) return err(new WebhookEndpointNotFound());
  const count = await tenantWork(ctx, actor.orgId, async (tx) => {
    const recovered = await tx
      .update(webhookDeliveries)
      .set(newSeries())
      .where(
        and(
          eq(webhookDeliveries.endpointId, endpointId),
          inArray(webhookDeliveries.status, RECOVERABLE),
          gte(webhookDeliveries.createdAt, since),
        ),
      )
      .returning({ id: webhookDeliveries.id });
    await appendAudit(tx, actor, [
      {
        action: 'webhook.recovered',
        resourceType: 'webhookEndpoint',
        resourceId: endpointId,
        data: { since: since.toISOString(), count: recovered.length },
      },
    ]);
    return recovered.length;
  });
  return ok({ count });
}

/** Queues a `webhook.test` event to one enabled endpoint, whatever event types it subscribes to. */
export async function sendTestWebhook(
  ctx: ServiceContext,
  actor: Actor,
  endpointId: string,
): Promise<Result<WebhookDelivery, InvalidInput | WebhookEndpointNotFound>> {
  const endpoint = await getWebhookEndpoint(ctx, actor.orgId, endpointId);
  if (!endpoint) return err(new WebhookEndpointNotFound());
  if (!endpoint.enabled) return err(new InvalidInput('the endpoint is disabled; enable it first', 'endpointId'));
  const delivery = await tenantWork(ctx, actor.orgId, async (tx) => {
    const eventId = newId('evt');
    await tx.insert(webhookEvents).values({
      id: eventId,
      orgId: actor.orgId,
      type: TEST_EVENT_TYPE,
      data: { endpointId, message: 'A test event sent from Leasehold.' },
    });
    const [row] = await tx
      .insert(webhookDeliveries)
      .values({ id: newId('whd'), orgId: actor.orgId, endpointId, eventId, eventType: TEST_EVENT_TYPE, nextAttemptAt: sql`now()` })
      .returning(columns);
    await appendAudit(tx, actor, [
      { action: 'webhook.test-sent', resourceType: 'webhookEndpoint', resourceId: endpointId, data: { deliveryId: row!.id } },
    ]);
    return row!;
  });
  return ok(delivery);
}
