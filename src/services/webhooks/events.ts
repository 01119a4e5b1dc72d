/**
 * Events for webhooks, through a transactional outbox: `emitEvent` writes the event row and one
 * PENDING delivery per enabled endpoint that subscribes to its type, inside the transaction of
 * the change it reports. Either both commit or neither does; the delivery worker
 * (webhooks/worker.ts) takes the deliveries from there.
 *
 * The event types are dotted names; endpoints subscribe with exact names or the patterns
 * `license.*`, `seat.*`, `apikey.*`, `endpoint.*`, `custom.*` (or a deeper `custom.<name>.*`) and
 * `*`. Integrations publish events of their own as `custom.<name>` (webhooks/customEvents.ts).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { ApiKeyRow, LicenseRow, WebhookEndpointRow } from '../../db/rows.ts';
import type { Transaction } from '../../db/tenant.ts';
import { BASE62 } from '../../lib/encoding.ts';
import { newId } from '../../lib/ids.ts';

export const EVENT_TYPES = [
  'license.created',
  'license.updated',
  'license.suspended',
  'license.reinstated',
  'license.revoked',
  'license.renewed',
  'license.expiring-soon',
  'seat.acquired',
  'seat.released',
  'seat.expired',
  'seat.revoked',
  'seat.limit-reached',
  'seat.overage',
  'seat.borrowed',
  'seat.returned',
  'seat.queued',
  'seat.dequeued',
  'machine.deactivated',
  'apikey.created',
  'apikey.rotated',
  'apikey.revoked',
  'endpoint.disabled',
  'meter.threshold',
  'meter.exhausted',
] as const;
/** An event an integration published (publishEvent): `custom.` and dotted segments of letters, digits, `_` and `-`. */
export type CustomEventType = `custom.${string}`;
export type EventType = (typeof EVENT_TYPES)[number] | CustomEventType;

export const CUSTOM_EVENT_PREFIX = 'custom.';
const CUSTOM_EVENT_TYPE = /^custom(\.[A-Za-z0-9_-]+)+$/;
export const CUSTOM_EVENT_TYPE_MAX = 128;

export const isCustomEventType = (type: string): type is CustomEventType =>
  type.length <= CUSTOM_EVENT_TYPE_MAX && CUSTOM_EVENT_TYPE.test(type);

/** Sent only by `sendTestWebhook`, to the one endpoint it names, whatever that endpoint subscribes to. */
export const TEST_EVENT_TYPE = 'webhook.test';

const DOMAINS = [...new Set([...EVENT_TYPES, CUSTOM_EVENT_PREFIX].map((type) => type.split('.')[0]!))];

export const isEventTypePattern = (pattern: string): boolean =>
  pattern === '*' ||
  (EVENT_TYPES as readonly string[]).includes(pattern) ||
  isCustomEventType(pattern) ||
  (pattern.endsWith('.*') && isCustomEventType(pattern.slice(0, -2))) ||
  DOMAINS.some((domain) => pattern === `${domain}.*`);

export interface PendingEvent {
  type: EventType;
  data: Record<string, unknown>;
}

/** Writes one event and its deliveries in `tx`; answers the event id. */
export async function emitEvent(tx: Transaction, orgId: string, type: EventType, data: Record<string, unknown>): Promise<string> {
  const [id] = await emitEvents(tx, orgId, [{ type, data }]);
  return id!;
}

/** Writes events of one organization and their deliveries in `tx`, in one statement. */
export async function emitEvents(tx: Transaction, orgId: string, events: PendingEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => ({ id: newId('evt'), type: e.type, data: e.data }));
  await tx.execute(sql`with ${eventWrites(orgId, pendingEvents(rows))} select 1`);
  return rows.map((r) => r.id);
}

/** Events written from JavaScript, as the `source` of `eventWrites`. */
function pendingEvents(events: { id: string; type: EventType; data: Record<string, unknown> }[]): SQL {
  return sql`select id, type, data from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as pending(id text, type text, data jsonb)`;
}

const BASE62_LITERAL = sql.raw(`'${BASE62}'`);

/**
 * The common table expressions of a statement that writes events of one organization: the
 * event rows `source` answers (columns id, type and data, in this order), and one PENDING
 * delivery per enabled endpoint with a pattern that matches: `*`, the type itself, or
 * `domain.*`. A statement lists them after its own and then its main query (`select 1` will do:
 * Postgres runs every data-modifying WITH to completion).
 *
 * How many deliveries there are is known only to Postgres, so it names them: `whd_` and 22
 * base62 digits, as ids.ts names every id, drawn from a SHA-256 over a random UUID (and the
 * event and endpoint, which also makes Postgres draw one per row rather than once).
 */
export function eventWrites(orgId: string, source: SQL): SQL {
  return sql`written_events as (
      insert into webhook_events (id, org_id, type, data)
      select id, ${orgId}, type, data from (${source}) as source(id, type, data)
      returning id, type),
    written_deliveries as (
      insert into webhook_deliveries (id, org_id, endpoint_id, event_id, event_type, next_attempt_at)
      select (select 'whd_' || string_agg(substr(${BASE62_LITERAL}, get_byte(digest, i) % 62 + 1, 1), '' order by i)
                from sha256(uuid_send(gen_random_uuid()) || convert_to(event.id || endpoint.id, 'UTF8')) as digest,
                     generate_series(0, 21) as i),
             ${orgId}, endpoint.id, event.id, event.type, now()
        from written_events as event
        join webhook_endpoints as endpoint on endpoint.org_id = ${orgId} and endpoint.enabled
       where exists (
               select from unnest(endpoint.event_types) as pattern
                where pattern in ('*', event.type)
                   or (right(pattern, 2) = '.*' and starts_with(event.type, left(pattern, -1)))))`;
}

// ── What events carry: never a secret or a hash ────────────────────────────────────────────

export const licenseData = (license: LicenseRow) => ({
  id: license.id,
  keyHint: license.keyHint,
  tier: license.tier,
  features: license.features,
  status: license.status,
  maxSeats: license.maxSeats,
  maxMachines: license.maxMachines,
  leaseSeconds: license.leaseSeconds,
  overage: license.overage,
  leasingStrategy: license.leasingStrategy,
  maxProcessesPerMachine: license.maxProcessesPerMachine,
  maxDeactivationsPerMonth: license.maxDeactivationsPerMonth,
  maxBorrowDays: license.maxBorrowDays,
  maxBorrowedSeats: license.maxBorrowedSeats,
  lingerSeconds: license.lingerSeconds,
  queue: { enabled: license.queueEnabled, maxLength: license.queueMaxLength, claimSeconds: license.queueClaimSeconds },
  expiresAt: license.expiresAt?.toISOString() ?? null,
  metadata: license.metadata,
  meters: license.meters,
});

const isoTime = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A session as every `seat.*` event carries it, over the `seat_sessions` columns in scope. */
export const sessionDataSql = (): SQL => sql`jsonb_build_object(
  'id', id, 'licenseId', license_id, 'fingerprint', fingerprint, 'startedAt', ${isoTime(sql`started_at`)},
  'expiresAt', ${isoTime(sql`expires_at`)}, 'endedAt', ${isoTime(sql`ended_at`)}, 'endReason', end_reason, 'overage', overage,
  'userId', user_id, 'processId', process_id, 'borrowedUntil', ${isoTime(sql`borrowed_until`)})`;

/** A queue ticket as `seat.queued` and `seat.dequeued` carry it, from a `seat_queue_tickets` row. */
export const queueTicketDataSql = (): SQL => sql`jsonb_build_object(
  'id', id, 'licenseId', license_id, 'fingerprint', fingerprint, 'userId', user_id, 'processId', process_id,
  'queuedAt', ${isoTime(sql`queued_at`)}, 'endedAt', ${isoTime(sql`ended_at`)}, 'endReason', end_reason)`;

export const apiKeyData = (key: ApiKeyRow) => ({
  id: key.id,
  name: key.name,
  environment: key.environment,
  hint: key.hint,
  scopes: key.scopes,
  tier: key.tier,
  expiresAt: key.expiresAt?.toISOString() ?? null,
  revokedAt: key.revokedAt?.toISOString() ?? null,
  revokeReason: key.revokeReason,
});

/** An endpoint as `endpoint.*` events carry it: never its secret. */
export const endpointData = (endpoint: WebhookEndpointRow) => ({
  id: endpoint.id,
  url: endpoint.url,
  description: endpoint.description,
  eventTypes: endpoint.eventTypes,
  enabled: endpoint.enabled,
  disabledReason: endpoint.disabledReason,
  failingSince: endpoint.failingSince?.toISOString() ?? null,
});
