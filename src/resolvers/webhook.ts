/** Webhook endpoints, deliveries and metrics, and the live feed of delivery status; each scoped to the caller's organization. */
import { EVENT_TYPES } from '../services/webhooks/events.ts';
import {
  deliveryUpdates,
  getWebhookDelivery,
  listWebhookDeliveries,
  recoverWebhookDeliveries,
  redeliverWebhook,
  sendTestWebhook,
} from '../services/webhooks/deliveries.ts';
import { publishEvent } from '../services/webhooks/customEvents.ts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from '../services/webhooks/endpoints.ts';
import { webhookMetrics } from '../services/webhooks/metrics.ts';
import { builder } from '../schema/builder.ts';
import { MAX_PAGE, pageSize, toPage } from '../schema/connection.ts';
import { requireActor } from '../schema/context.ts';
import {
  CreateWebhookEndpointInput,
  CreateWebhookEndpointResult,
  PublishEventInput,
  PublishEventResult,
  RecoverWebhookDeliveriesResult,
  DeleteWebhookEndpointResult,
  RedeliverWebhookResult,
  RotateWebhookSecretResult,
  SendTestWebhookResult,
  UpdateWebhookEndpointResult,
  DeleteWebhookEndpointInput,
  RedeliverWebhookInput,
  RotateWebhookSecretInput,
  SendTestWebhookInput,
  UpdateWebhookEndpointInput,
  WebhookDeliveryConnectionType,
  WebhookDeliveryFilterInput,
  WebhookDeliveryType,
  WebhookEndpointType,
  WebhookMetricsType,
} from '../schema/webhook.ts';
import { unwrap } from '../services/errors.ts';

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    type: [WebhookEndpointType],
    authScopes: { scope: 'webhooks:read' },
    description: "The organization's webhook endpoints, newest first.",
    resolve: (_root, _args, ctx) => listWebhookEndpoints(ctx.services, requireActor(ctx).orgId),
  }),
  webhookEndpoint: t.field({
    type: WebhookEndpointType,
    nullable: true,
    authScopes: { scope: 'webhooks:read' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getWebhookEndpoint(ctx.services, requireActor(ctx).orgId, String(id)),
  }),
  webhookEventTypes: t.field({
    type: ['String'],
    authScopes: { scope: 'webhooks:read' },
    description: 'Every event type an endpoint can subscribe to.',
    resolve: () => [...EVENT_TYPES],
  }),
  webhookDelivery: t.field({
    type: WebhookDeliveryType,
    nullable: true,
    authScopes: { scope: 'webhooks:read' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getWebhookDelivery(ctx.services, requireActor(ctx).orgId, String(id)),
  }),
  webhookDeliveries: t.field({
    type: WebhookDeliveryConnectionType,
    authScopes: { scope: 'webhooks:read' },
    description: 'Newest first.',
    args: {
      filter: t.arg({ type: WebhookDeliveryFilterInput, required: false }),
      first: t.arg.int({ required: false, description: `1 to ${MAX_PAGE}, default 20` }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = args.filter && { ...args.filter, endpointId: args.filter.endpointId == null ? null : String(args.filter.endpointId) };
      const page = await listWebhookDeliveries(ctx.services, requireActor(ctx).orgId, {
        filter,
        first: pageSize(args.first),
        after: args.after,
      });
      return toPage(page, (delivery) => delivery.id);
    },
  }),
  webhookMetrics: t.field({
    type: WebhookMetricsType,
    authScopes: { scope: 'webhooks:read' },
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true, description: 'Exclusive; at most 366 days after from.' }),
    },
    resolve: async (_root, { from, to }, ctx) => unwrap(await webhookMetrics(ctx.services, requireActor(ctx).orgId, from, to)),
  }),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreateWebhookEndpointResult,
    authScopes: { scope: 'webhooks:write' },
    description: 'Adds an endpoint; its signing secret is in the answer and nowhere else, ever.',
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await createWebhookEndpoint(ctx.services, requireActor(ctx), input)),
  }),
  updateWebhookEndpoint: t.field({
    type: UpdateWebhookEndpointResult,
    authScopes: { scope: 'webhooks:write' },
    args: { input: t.arg({ type: UpdateWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { id, ...patch } = input;
      return { endpoint: unwrap(await updateWebhookEndpoint(ctx.services, requireActor(ctx), String(id), patch)) };
    },
  }),
  deleteWebhookEndpoint: t.field({
    type: DeleteWebhookEndpointResult,
    authScopes: { scope: 'webhooks:write' },
    description: 'Removes the endpoint with its deliveries.',
    args: { input: t.arg({ type: DeleteWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      endpoint: unwrap(await deleteWebhookEndpoint(ctx.services, requireActor(ctx), String(input.id))),
    }),
  }),
  rotateWebhookSecret: t.field({
    type: RotateWebhookSecretResult,
    authScopes: { scope: 'webhooks:write' },
    description: 'Issues a new signing secret; the old one keeps signing beside it for overlapSeconds (default a day).',
    args: { input: t.arg({ type: RotateWebhookSecretInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await rotateWebhookSecret(ctx.services, requireActor(ctx), String(input.id), input)),
  }),
  redeliverWebhook: t.field({
    type: RedeliverWebhookResult,
    authScopes: { scope: 'webhooks:write' },
    description: 'Sends a DELIVERED, DEAD, REPLAY_EXPIRED or DISABLED delivery again, as a new series of attempts.',
    args: { input: t.arg({ type: RedeliverWebhookInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      delivery: unwrap(await redeliverWebhook(ctx.services, requireActor(ctx), String(input.deliveryId))),
    }),
  }),
  recoverWebhookDeliveries: t.field({
    type: RecoverWebhookDeliveriesResult,
    authScopes: { scope: 'webhooks:write' },
    description:
      'Sends again every FAILED, DEAD or REPLAY_EXPIRED delivery to the endpoint created since `since`, each as a new series of attempts.',
    args: { endpointId: t.arg.id({ required: true }), since: t.arg({ type: 'DateTime', required: true }) },
    resolve: async (_root, { endpointId, since }, ctx) =>
      unwrap(await recoverWebhookDeliveries(ctx.services, requireActor(ctx), String(endpointId), since)),
  }),
  publishEvent: t.field({
    type: PublishEventResult,
    authScopes: { scope: 'webhooks:write' },
    description: 'Publishes an event of your own (type custom.…) to every endpoint subscribed to it, signed and retried like any event.',
    args: { input: t.arg({ type: PublishEventInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      unwrap(await publishEvent(ctx.services, requireActor(ctx), { type: input.type, payload: input.payload })),
  }),
  sendTestWebhook: t.field({
    type: SendTestWebhookResult,
    authScopes: { scope: 'webhooks:write' },
    description: 'Sends a webhook.test event to one endpoint, whatever event types it subscribes to.',
    args: { input: t.arg({ type: SendTestWebhookInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      delivery: unwrap(await sendTestWebhook(ctx.services, requireActor(ctx), String(input.endpointId))),
    }),
  }),
}));

builder.subscriptionFields((t) => ({
  webhookDeliveryUpdated: t.field({
    type: WebhookDeliveryType,
    authScopes: { scope: 'webhooks:read' },
    description: "Every status change of the organization's deliveries (of one endpoint, when given), whichever instance made it.",
    args: { endpointId: t.arg.id({ required: false }) },
    subscribe: async (_root, { endpointId }, ctx) =>
      unwrap(await deliveryUpdates(ctx.services, requireActor(ctx).orgId, endpointId == null ? null : String(endpointId))),
    resolve: (delivery) => delivery,
  }),
}));
