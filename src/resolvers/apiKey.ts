/** API key queries and mutations, and API-key usage; each scoped to the caller's organization. */
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey, updateApiKey } from '../services/apiKeys/management.ts';
import { apiKeyUsage } from '../services/usage/reporting.ts';
import { builder } from '../schema/builder.ts';
import {
  ApiKeyType,
  ApiKeyUsageReportType,
  CreateApiKeyInput,
  CreateApiKeyResult,
  RevokeApiKeyResult,
  RotateApiKeyResult,
  UpdateApiKeyResult,
  RevokeApiKeyInput,
  RotateApiKeyInput,
  UpdateApiKeyInput,
} from '../schema/apiKey.ts';
import { requireActor, type GraphQLContext } from '../schema/context.ts';
import { unwrap } from '../services/errors.ts';

/** The scopes the caller may pass on to a key: its own. */
const grantable = (ctx: GraphQLContext) => ctx.principal?.scopes ?? [];

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyType],
    authScopes: { scope: 'apikeys:read' },
    description: "The organization's API keys, newest first, revoked and expired ones included.",
    resolve: (_root, _args, ctx) => listApiKeys(ctx.services, requireActor(ctx).orgId),
  }),
  apiKeyUsage: t.field({
    type: ApiKeyUsageReportType,
    authScopes: { scope: 'usage:read' },
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true, description: 'Exclusive; at most 366 days after from.' }),
    },
    resolve: async (_root, { from, to }, ctx) => unwrap(await apiKeyUsage(ctx.services, requireActor(ctx).orgId, from, to)),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyResult,
    authScopes: { scope: 'apikeys:write' },
    description: 'Makes a key; its secret is in the answer and nowhere else, ever.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await createApiKey(ctx.services, requireActor(ctx), input, grantable(ctx))),
  }),
  rotateApiKey: t.field({
    type: RotateApiKeyResult,
    authScopes: { scope: 'apikeys:write' },
    description: 'Issues a new secret; the old one keeps working for gracePeriodSeconds (default 0).',
    args: { input: t.arg({ type: RotateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await rotateApiKey(ctx.services, requireActor(ctx), String(input.id), input)),
  }),
  updateApiKey: t.field({
    type: UpdateApiKeyResult,
    authScopes: { scope: 'apikeys:write' },
    args: { input: t.arg({ type: UpdateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { id, ...patch } = input;
      return { apiKey: unwrap(await updateApiKey(ctx.services, requireActor(ctx), String(id), patch, grantable(ctx))) };
    },
  }),
  revokeApiKey: t.field({
    type: RevokeApiKeyResult,
    authScopes: { scope: 'apikeys:write' },
    description: 'Revokes a key at once, for good.',
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      return { apiKey: unwrap(await revokeApiKey(ctx.services, requireActor(ctx), String(input.id), input.reason)) };
    },
  }),
}));
