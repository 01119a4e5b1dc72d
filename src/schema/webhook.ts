/** Webhook endpoints, deliveries, attempts and metrics as the API shows them (never a secret but once), and their inputs. */
import type { WebhookAttemptRow, WebhookEndpointRow, WebhookEventRow } from '../db/rows.ts';
import { getWebhookEndpoint, type WebhookEndpointWithSecret } from '../services/webhooks/endpoints.ts';
import { getWebhookEvent, listWebhookAttempts, type WebhookDelivery } from '../services/webhooks/deliveries.ts';
import { InvalidInput, WebhookDeliveryNotFound, WebhookEndpointNotFound } from '../services/errors.ts';
import type { WebhookMetrics } from '../services/webhooks/metrics.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';
import { requireActor } from './context.ts';
import { ErrorInterface } from './errors.ts';

export const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: {
    PENDING: { description: 'Waiting for its first attempt, or that attempt is under way.' },
    FAILED: { description: 'The last attempt failed; the next one is due at nextAttemptAt.' },
    RETRYING: { description: 'A later attempt is under way.' },
    DELIVERED: { description: 'The endpoint answered 2xx.' },
    DEAD: { description: 'The last allowed attempt failed; redeliverWebhook sends it again.' },
    REPLAY_EXPIRED: { description: 'Not sent: its event was older than the maximum event age when the attempt came due.' },
    DISABLED: { description: 'The endpoint answered 410 Gone and was disabled.' },
  } as const,
});

export const WebhookEndpointType = builder.objectRef<WebhookEndpointRow>('WebhookEndpoint').implement({
  description:
    'Where events are POSTed. Each attempt carries X-Webhook-Signature (hex HMAC-SHA256 over "timestamp.eventId.body") and the ' +
    'Standard Webhooks headers (webhook-signature: v1,<base64 HMAC-SHA256 over "eventId.timestamp.body">), both keyed with the ' +
    'base64-decoded part of the whsec_ secret; during a secret rotation each header holds one space-separated signature per live secret.',
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Event types or patterns: license.created, seat.*, *.' }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', {
      nullable: true,
      description: 'Why the server disabled the endpoint: a 410 answer, or every attempt failing for WEBHOOK_DISABLE_AFTER_HOURS.',
    }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'Since when every attempt has failed; null after a 2xx answer. Enabling the endpoint clears it.',
    }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'During a secret rotation, when the replaced secret stops signing.',
      resolve: (e, _args, ctx) =>
        e.previousSecretExpiresAt && e.previousSecretExpiresAt.getTime() > ctx.services.clock.now() ? e.previousSecretExpiresAt : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const WebhookEventType = builder.objectRef<WebhookEventRow>('WebhookEvent').implement({
  description: 'What happened, as sent: the POST body is { id, type, timestamp, data }.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable across attempts and redeliveries: receivers de-duplicate by it.' }),
    type: t.exposeString('type'),
    data: t.expose('data', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WebhookAttemptType = builder.objectRef<WebhookAttemptRow>('WebhookAttempt').implement({
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: 'Counts on across redeliveries.' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'null when no answer came (timeout, refused connection).' }),
    durationMs: t.exposeInt('durationMs'),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first 2 KB of the answer.' }),
    error: t.exposeString('error', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WebhookDeliveryType = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  description: 'One event on its way to one endpoint.',
  fields: (t) => ({
    id: t.exposeID('id'),
    endpointId: t.exposeID('endpointId'),
    eventId: t.exposeID('eventId'),
    eventType: t.exposeString('eventType'),
    status: t.expose('status', { type: WebhookDeliveryStatusEnum }),
    attemptCount: t.exposeInt('attempts', { description: 'Attempts of the current series (a redelivery starts a new one).' }),
    nextAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the next attempt is due (FAILED), or by when the one under way ends; null once done.',
    }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    redeliveredAt: t.expose('redeliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    endpoint: t.field({
      type: WebhookEndpointType,
      nullable: true,
      resolve: (d, _args, ctx) => getWebhookEndpoint(ctx.services, requireActor(ctx).orgId, d.endpointId),
    }),
    event: t.field({
      type: WebhookEventType,
      nullable: true,
      resolve: (d, _args, ctx) => getWebhookEvent(ctx.services, requireActor(ctx).orgId, d.eventId),
    }),
    attempts: t.field({
      type: [WebhookAttemptType],
      description: 'Every attempt, oldest first.',
      resolve: (d, _args, ctx) => listWebhookAttempts(ctx.services, requireActor(ctx).orgId, d.id),
    }),
  }),
});

export const WebhookDeliveryConnectionType = connectionType('WebhookDelivery', WebhookDeliveryType);

export const WebhookMetricsType = builder.objectRef<WebhookMetrics>('WebhookMetrics').implement({
  description: 'Deliveries created in [from, to), by their status now, with attempts and latency.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    total: t.exposeInt('total'),
    pending: t.exposeInt('pending'),
    failed: t.exposeInt('failed', { description: 'Waiting for a retry after a failed attempt.' }),
    retrying: t.exposeInt('retrying', { description: 'A retry under way.' }),
    delivered: t.exposeInt('delivered'),
    dead: t.exposeInt('dead'),
    replayExpired: t.exposeInt('replayExpired'),
    disabled: t.exposeInt('disabled'),
    failedAttempts: t.exposeInt('failedAttempts', { description: 'Attempts made in the range that got no 2xx answer.' }),
    averageAttempts: t.exposeFloat('averageAttempts', {
      nullable: true,
      description: 'Mean attempts of the DELIVERED and DEAD deliveries.',
    }),
    p95DeliveryLatencyMs: t.exposeInt('p95DeliveryLatencyMs', {
      nullable: true,
      description: '95th percentile of the time from the event (or a redelivery by hand) to the 2xx answer.',
    }),
  }),
});

builder.objectType(WebhookEndpointNotFound, { name: 'WebhookEndpointNotFound', interfaces: [ErrorInterface] });
builder.objectType(WebhookDeliveryNotFound, { name: 'WebhookDeliveryNotFound', interfaces: [ErrorInterface] });

const secretField =
  'The signing secret, whsec_ + base64. Shown once: it is stored encrypted. The HMAC key of both signature headers is its base64 part, decoded.';

export const WebhookEndpointCreatedType = builder.objectRef<WebhookEndpointWithSecret>('WebhookEndpointCreated').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointType, resolve: (r) => r.endpoint }),
    secret: t.exposeString('secret', { description: secretField }),
  }),
});

export const WebhookSecretRotatedType = builder.objectRef<WebhookEndpointWithSecret>('WebhookSecretRotated').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointType, resolve: (r) => r.endpoint }),
    secret: t.exposeString('secret', { description: secretField }),
  }),
});

export const WebhookEndpointUpdatedType = builder.objectRef<{ endpoint: WebhookEndpointRow }>('WebhookEndpointUpdated').implement({
  fields: (t) => ({ endpoint: t.field({ type: WebhookEndpointType, resolve: (r) => r.endpoint }) }),
});

export const WebhookEndpointDeletedType = builder.objectRef<{ endpoint: WebhookEndpointRow }>('WebhookEndpointDeleted').implement({
  fields: (t) => ({ endpoint: t.field({ type: WebhookEndpointType, resolve: (r) => r.endpoint }) }),
});

export const WebhookDeliveryQueuedType = builder.objectRef<{ delivery: WebhookDelivery }>('WebhookDeliveryQueued').implement({
  description: 'The delivery is PENDING; webhookDeliveryUpdated and webhookDeliveries follow it from here.',
  fields: (t) => ({ delivery: t.field({ type: WebhookDeliveryType, resolve: (r) => r.delivery }) }),
});

export const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: true, description: 'http or https, no credentials; on a live server https and a public address.' }),
    description: t.string({ required: false }),
    eventTypes: t.stringList({ required: true, description: 'Event types or patterns: license.created, license.*, seat.*, apikey.*, *.' }),
    enabled: t.boolean({ required: false, description: 'Default true.' }),
  }),
});

export const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Fields left out stay as they are; description "" clears it. Enabling an endpoint resumes its queued deliveries.',
  fields: (t) => ({
    id: t.id({ required: true }),
    url: t.string({ required: false }),
    description: t.string({ required: false }),
    eventTypes: t.stringList({ required: false }),
    enabled: t.boolean({ required: false }),
  }),
});

export const DeleteWebhookEndpointInput = builder.inputType('DeleteWebhookEndpointInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

export const RotateWebhookSecretInput = builder.inputType('RotateWebhookSecretInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    overlapSeconds: t.int({
      required: false,
      description: 'How long the replaced secret keeps signing beside the new one: default 86400, 0 to stop it at once, at most 7 days.',
    }),
  }),
});

export const RedeliverWebhookInput = builder.inputType('RedeliverWebhookInput', {
  fields: (t) => ({ deliveryId: t.id({ required: true }) }),
});

export const SendTestWebhookInput = builder.inputType('SendTestWebhookInput', {
  fields: (t) => ({ endpointId: t.id({ required: true }) }),
});

export const WebhookDeliveryFilterInput = builder.inputType('WebhookDeliveryFilter', {
  fields: (t) => ({
    status: t.field({ type: WebhookDeliveryStatusEnum, required: false }),
    eventType: t.string({ required: false, description: 'An event type, or a pattern such as seat.*.' }),
    endpointId: t.id({ required: false }),
  }),
});

export const CreateWebhookEndpointResult = builder.errorUnion('CreateWebhookEndpointResult', {
  types: [WebhookEndpointCreatedType, InvalidInput],
  resolveType: () => 'WebhookEndpointCreated',
});
export const UpdateWebhookEndpointResult = builder.errorUnion('UpdateWebhookEndpointResult', {
  types: [WebhookEndpointUpdatedType, InvalidInput, WebhookEndpointNotFound],
  resolveType: () => 'WebhookEndpointUpdated',
});
export const DeleteWebhookEndpointResult = builder.errorUnion('DeleteWebhookEndpointResult', {
  types: [WebhookEndpointDeletedType, WebhookEndpointNotFound],
  resolveType: () => 'WebhookEndpointDeleted',
});
export const RotateWebhookSecretResult = builder.errorUnion('RotateWebhookSecretResult', {
  types: [WebhookSecretRotatedType, InvalidInput, WebhookEndpointNotFound],
  resolveType: () => 'WebhookSecretRotated',
});
export const RedeliverWebhookResult = builder.errorUnion('RedeliverWebhookResult', {
  types: [WebhookDeliveryQueuedType, InvalidInput, WebhookDeliveryNotFound],
  resolveType: () => 'WebhookDeliveryQueued',
});
export const SendTestWebhookResult = builder.errorUnion('SendTestWebhookResult', {
  types: [WebhookDeliveryQueuedType, InvalidInput, WebhookEndpointNotFound],
  resolveType: () => 'WebhookDeliveryQueued',
});

export const PublishEventInput = builder.inputType('PublishEventInput', {
  fields: (t) => ({
    type: t.string({
      required: true,
      description: 'custom. followed by dotted segments of letters, digits, _ and -, e.g. custom.order.paid (at most 128 characters).',
    }),
    payload: t.field({ type: 'JSON', required: true, description: "The event's data: a JSON object of at most 64 KB." }),
  }),
});

export const EventPublishedType = builder.objectRef<{ eventId: string }>('EventPublished').implement({
  description: 'The event is in the outbox; every endpoint subscribed to its type gets it, signed and retried like any event.',
  fields: (t) => ({ eventId: t.exposeID('eventId') }),
});

export const PublishEventResult = builder.errorUnion('PublishEventResult', {
  types: [EventPublishedType, InvalidInput],
  resolveType: () => 'EventPublished',
});

export const WebhookDeliveriesRecoveredType = builder.objectRef<{ count: number }>('WebhookDeliveriesRecovered').implement({
  fields: (t) => ({ count: t.exposeInt('count', { description: 'Deliveries queued again.' }) }),
});

export const RecoverWebhookDeliveriesResult = builder.errorUnion('RecoverWebhookDeliveriesResult', {
  types: [WebhookDeliveriesRecoveredType, InvalidInput, WebhookEndpointNotFound],
  resolveType: () => 'WebhookDeliveriesRecovered',
});
