/** API keys as the API shows them (never a hash; the secret only in ApiKeyCreated / ApiKeyRotated), their inputs and usage. */
import type { ApiKeyRow } from '../db/rows.ts';
import { apiKeyStatus, type ApiKeyWithSecret } from '../services/apiKeys/management.ts';
import { ApiKeyNotFound, InvalidInput } from '../services/errors.ts';
import type { DayUsage, KeyUsage, TierUsage, UsageReport } from '../services/usage/reporting.ts';
import { builder } from './builder.ts';
import { ErrorInterface } from './errors.ts';

export const ApiKeyEnvironmentEnum = builder.enumType('ApiKeyEnvironment', {
  description: 'live keys (`pk_live_…`) work on a live server, test keys (`pk_test_…`) on a test server.',
  values: { LIVE: { value: 'live' as const }, TEST: { value: 'test' as const } },
});

export const ApiKeyStatusEnum = builder.enumType('ApiKeyStatus', { values: ['ACTIVE', 'EXPIRED', 'REVOKED'] as const });

export const ApiKeyType = builder.objectRef<ApiKeyRow>('ApiKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    environment: t.expose('environment', { type: ApiKeyEnvironmentEnum }),
    hint: t.exposeString('hint', { description: 'The last 4 characters of the secret; the secret itself is shown only once.' }),
    scopes: t.exposeStringList('scopes'),
    ipAllowlist: t.exposeStringList('ipAllowlist', { description: 'CIDR blocks the key may be used from; empty = any address.' }),
    tier: t.exposeString('tier', { description: 'Its rate-limit tier.' }),
    status: t.field({ type: ApiKeyStatusEnum, resolve: (key, _args, ctx) => apiKeyStatus(key, ctx.services.clock.now()) }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was revoked; a time in the future is the end of the grace period of a rotation that replaced it.',
    }),
    revokeReason: t.exposeString('revokeReason', { nullable: true }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'After a rotation that kept the id, when the replaced secret stops working.',
      resolve: (key, _args, ctx) =>
        key.previousExpiresAt && key.previousExpiresAt.getTime() > ctx.services.clock.now() ? key.previousExpiresAt : null,
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Written in batches: may trail by a few seconds.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectType(ApiKeyNotFound, { name: 'ApiKeyNotFound', interfaces: [ErrorInterface] });

const secretField = 'The secret. Shown once: only its SHA-256 is stored.';

export const ApiKeyCreatedType = builder.objectRef<ApiKeyWithSecret>('ApiKeyCreated').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, resolve: (r) => r.apiKey }),
    secret: t.exposeString('secret', { description: secretField }),
  }),
});

export const ApiKeyRotatedType = builder.objectRef<ApiKeyWithSecret>('ApiKeyRotated').implement({
  fields: (t) => ({
    apiKey: t.field({
      type: ApiKeyType,
      description: 'The key the new secret belongs to (a new one unless preserveKeyId).',
      resolve: (r) => r.apiKey,
    }),
    secret: t.exposeString('secret', { description: secretField }),
  }),
});

export const ApiKeyUpdatedType = builder.objectRef<{ apiKey: ApiKeyRow }>('ApiKeyUpdated').implement({
  fields: (t) => ({ apiKey: t.field({ type: ApiKeyType, resolve: (r) => r.apiKey }) }),
});

export const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    environment: t.field({ type: ApiKeyEnvironmentEnum, required: true }),
    scopes: t.stringList({ required: true, description: 'At least one; only scopes your own credential holds.' }),
    ipAllowlist: t.stringList({ required: false, description: 'IPv4/IPv6 addresses or CIDR blocks; absent or empty = any address.' }),
    tier: t.string({ required: false, description: 'A configured rate-limit tier; default standard.' }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
  }),
});

export const UpdateApiKeyInput = builder.inputType('UpdateApiKeyInput', {
  description: 'Fields left out stay as they are; `ipAllowlist: []` lifts the address restriction.',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false }),
    scopes: t.stringList({ required: false }),
    ipAllowlist: t.stringList({ required: false }),
    tier: t.string({ required: false }),
  }),
});

export const RotateApiKeyInput = builder.inputType('RotateApiKeyInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    preserveKeyId: t.boolean({
      required: false,
      description: 'true (default): the key keeps its id and gets a new secret. false: a new key with the same settings replaces it.',
    }),
    gracePeriodSeconds: t.int({
      required: false,
      description: 'How long the replaced secret (or key) keeps working: default 0, at most 7 days, never past the key’s expiry.',
    }),
  }),
});

export const RevokeApiKeyInput = builder.inputType('RevokeApiKeyInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    reason: t.string({ required: false, description: 'Recorded on the key and in the audit log.' }),
  }),
});

// ── Usage ───────────────────────────────────────────────────────────────────────────────────

export const ApiKeyUsageDayType = builder.objectRef<DayUsage>('ApiKeyUsageDay').implement({
  fields: (t) => ({
    day: t.exposeString('day', { description: 'UTC day, YYYY-MM-DD.' }),
    tier: t.exposeString('tier'),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    rateLimited: t.exposeInt('rateLimited', { description: 'Requests refused with RATE_LIMITED.' }),
    uniqueConsumers: t.exposeInt('uniqueConsumers', { description: 'Distinct client addresses (HyperLogLog, ~1 %).' }),
    p50Ms: t.exposeInt('p50Ms', { nullable: true }),
    p95Ms: t.exposeInt('p95Ms', { nullable: true }),
  }),
});

export const ApiKeyUsageType = builder.objectRef<KeyUsage>('ApiKeyUsage').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, resolve: (u) => u.apiKey }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    rateLimited: t.exposeInt('rateLimited'),
    uniqueConsumers: t.exposeInt('uniqueConsumers', { description: 'Distinct client addresses on the busiest day of the range.' }),
    p50Ms: t.exposeInt('p50Ms', { nullable: true, description: 'Request-weighted over the days of the range.' }),
    p95Ms: t.exposeInt('p95Ms', { nullable: true, description: 'Request-weighted over the days of the range.' }),
    days: t.field({ type: [ApiKeyUsageDayType], resolve: (u) => u.days }),
  }),
});

export const TierUsageType = builder.objectRef<TierUsage>('TierUsage').implement({
  fields: (t) => ({
    tier: t.exposeString('tier'),
    activeKeys: t.exposeInt('activeKeys', { description: 'Keys of this tier with at least one request.' }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    rateLimited: t.exposeInt('rateLimited'),
    uniqueConsumers: t.exposeInt('uniqueConsumers', { description: "The sum of its keys' distinct client addresses." }),
    p50Ms: t.exposeInt('p50Ms', { nullable: true }),
    p95Ms: t.exposeInt('p95Ms', { nullable: true }),
  }),
});

export const ApiKeyUsageReportType = builder.objectRef<UsageReport>('ApiKeyUsageReport').implement({
  description: 'Usage per key and per tier over every UTC day that overlaps [from, to). Figures trail live traffic by one flush.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    firstDay: t.exposeString('firstDay'),
    lastDay: t.exposeString('lastDay'),
    keys: t.field({ type: [ApiKeyUsageType], resolve: (r) => r.keys }),
    tiers: t.field({ type: [TierUsageType], resolve: (r) => r.tiers }),
  }),
});

export const CreateApiKeyResult = builder.errorUnion('CreateApiKeyResult', {
  types: [ApiKeyCreatedType, InvalidInput],
  resolveType: () => 'ApiKeyCreated',
});
export const RotateApiKeyResult = builder.errorUnion('RotateApiKeyResult', {
  types: [ApiKeyRotatedType, InvalidInput, ApiKeyNotFound],
  resolveType: () => 'ApiKeyRotated',
});
export const UpdateApiKeyResult = builder.errorUnion('UpdateApiKeyResult', {
  types: [ApiKeyUpdatedType, InvalidInput, ApiKeyNotFound],
  resolveType: () => 'ApiKeyUpdated',
});
export const RevokeApiKeyResult = builder.errorUnion('RevokeApiKeyResult', {
  types: [ApiKeyUpdatedType, InvalidInput, ApiKeyNotFound],
  resolveType: () => 'ApiKeyUpdated',
});
