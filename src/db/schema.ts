/**
 * Postgres is the record: organizations, licenses, the machines each license has activated,
 * seat sessions and the audit log. Redis holds the live seat state and is rebuilt from here.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/** A consumption meter of a license (`recordUsage`): at most `limit + overage` per UTC period. */
export interface MeterDefinition {
  name: string;
  limit: number;
  period: 'DAY' | 'MONTH' | 'LIFETIME';
  overage: number;
}

export const licenseStatus = pgEnum('license_status', ['ACTIVE', 'SUSPENDED', 'REVOKED']);
export const sessionEndReason = pgEnum('session_end_reason', ['RELEASED', 'EXPIRED', 'REVOKED']);
export const leasingStrategy = pgEnum('leasing_strategy', ['PER_MACHINE', 'PER_USER', 'PER_PROCESS']);
export const overageStrategy = pgEnum('overage_strategy', ['NONE', 'ALLOW_1_25X', 'ALLOW_1_5X', 'ALLOW_2X', 'ALWAYS']);

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const licenses = pgTable(
  'licenses',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** HMAC-SHA256 of the key with the server secret, hex; the key itself is never stored. */
    keyHash: text('key_hash').notNull(),
    keyHint: text('key_hint').notNull(),
    tier: text('tier').notNull(),
    features: text('features')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    maxSeats: integer('max_seats').notNull(),
    maxMachines: integer('max_machines'),
    leaseSeconds: integer('lease_seconds').notNull(),
    reviveSeconds: integer('revive_seconds').notNull().default(0),
    overage: overageStrategy('overage').notNull().default('NONE'),
    leasingStrategy: leasingStrategy('leasing_strategy').notNull().default('PER_MACHINE'),
    /** Under PER_PROCESS, the live sessions one machine may hold; null = unlimited. */
    maxProcessesPerMachine: integer('max_processes_per_machine'),
    /** How long a seat a client released stays held for the same holder. */
    lingerSeconds: integer('linger_seconds').notNull().default(0),
    /** The seat queue: whether a full license lets clients wait in line, how many, and how long a ticket lives unheard (and a set-aside seat waits for its claim). */
    queueEnabled: boolean('queue_enabled').notNull().default(false),
    queueMaxLength: integer('queue_max_length').notNull().default(1000),
    queueClaimSeconds: integer('queue_claim_seconds').notNull().default(60),
    /** The longest a seat may be borrowed for offline use, in days; 0 = no borrowing. */
    maxBorrowDays: integer('max_borrow_days').notNull().default(0),
    /** The most seats borrowed at once; null = no bound beyond maxSeats. */
    maxBorrowedSeats: integer('max_borrowed_seats'),
    /** How many machines may be deactivated per UTC calendar month; null = unlimited. */
    maxDeactivationsPerMonth: integer('max_deactivations_per_month'),
    status: licenseStatus('status').notNull().default('ACTIVE'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    meters: jsonb('meters').$type<MeterDefinition[]>().notNull().default([]),
    /** The expiry that `license.expiring-soon` was announced for; a renewal moves expires_at away from it. */
    expiryWarningSentFor: timestamp('expiry_warning_sent_for', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('licenses_key_hash_idx').on(t.keyHash), index('licenses_org_created_idx').on(t.orgId, t.createdAt)],
);

export const machines = pgTable(
  'machines',
  {
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    activatedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.licenseId, t.fingerprint] })],
);

export const seatSessions = pgTable(
  'seat_sessions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    clientInfo: jsonb('client_info').$type<unknown>(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastHeartbeatAt: timestamp('last_heartbeat_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    endReason: sessionEndReason('end_reason'),
    /** Granted past maxSeats under the license's overage strategy. */
    overage: boolean('overage').notNull().default(false),
    /** The ids the acquire gave; the leasing strategy decides which of them make the holder. */
    userId: text('user_id'),
    processId: text('process_id'),
    /** A borrowed seat's end (its lease needs no heartbeat until then); null for a leased seat. */
    borrowedUntil: timestamp('borrowed_until', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('seat_sessions_license_idx').on(t.licenseId, t.startedAt),
    // The sweeper and the Redis rebuild only ever look at open sessions.
    index('seat_sessions_open_expiry_idx')
      .on(t.expiresAt)
      .where(sql`${t.endedAt} IS NULL`),
    index('seat_sessions_open_license_idx')
      .on(t.licenseId)
      .where(sql`${t.endedAt} IS NULL`),
    // A license's machines page reads each machine's sessions.
    index('seat_sessions_machine_idx').on(t.licenseId, t.fingerprint),
  ],
);

export const queueTicketEnd = pgEnum('queue_ticket_end', ['CLAIMED', 'LEFT', 'EXPIRED']);

/**
 * The seat queue's tickets, so a line survives Redis losing its data. The seat store decides
 * (lua/lib/queue.lua) and keeps each ticket's heartbeats; here `expires_at` is only where the
 * sweeper next asks the store whether the ticket still waits, as it does for leases.
 */
export const seatQueueTickets = pgTable(
  'seat_queue_tickets',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    userId: text('user_id'),
    processId: text('process_id'),
    /** The line's order: first in, first served, after a rebuild too. */
    queuedAt: timestamp('queued_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    endReason: queueTicketEnd('end_reason'),
  },
  (t) => [
    index('seat_queue_tickets_open_license_idx')
      .on(t.licenseId, t.queuedAt)
      .where(sql`${t.endedAt} IS NULL`),
    index('seat_queue_tickets_open_expiry_idx')
      .on(t.expiresAt)
      .where(sql`${t.endedAt} IS NULL`),
  ],
);

/** Every machine deactivation, so maxDeactivationsPerMonth can be counted. */
export const machineDeactivations = pgTable(
  'machine_deactivations',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('machine_deactivations_license_idx').on(t.licenseId, t.deactivatedAt)],
);

export const auditLogs = pgTable(
  'audit_logs',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    resourceType: text('resource_type').notNull(),
    resourceId: text('resource_id').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    requestId: text('request_id'),
    createdAt: createdAt(),
    /** Position in the organization's hash chain; set by the audit_logs_chain trigger (drizzle/0001). */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    /** SHA-256 hex of the previous row's hash and this row's content; set by the trigger. */
    prevHash: text('prev_hash'),
    hash: text('hash'),
    /**
     * Which content the hash covers: 1, fields joined by U+001F (rows before drizzle/0022, which
     * verify as they are); 2, each field length-prefixed. Set by the trigger.
     */
    chainVersion: smallint('chain_version').notNull().default(1),
  },
  (t) => [
    index('audit_logs_org_seq_idx').on(t.orgId, t.seq),
    index('audit_logs_org_created_idx').on(t.orgId, t.createdAt),
    index('audit_logs_resource_idx').on(t.resourceType, t.resourceId),
  ],
);

/**
 * Signed heads of the audit chain (services/audit/anchors.ts): an organization's last row's
 * `seq` and `hash`, signed by the server's signer, whose key Postgres never sees. Append-only
 * for every role but the owner (drizzle/0024), so whoever holds the app's role can neither
 * forge one nor take one away.
 */
export const auditAnchors = pgTable(
  'audit_anchors',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
    /** The signing key's id: anchors of a key no longer published are passed over. */
    keyId: text('key_id').notNull(),
    /** The compact JWS (`audit-anchor+jwt`) whose payload carries the organization, seq and hash. */
    token: text('token').notNull(),
    signedAt: timestamp('signed_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('audit_anchors_org_seq_idx').on(t.orgId, t.seq)],
);

/**
 * Usage recorded on a license's meters, written in batches after Redis decided it. One row per
 * idempotency key and period: a replayed key is never a second row.
 */
export const meterUsage = pgTable(
  'meter_usage',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    meter: text('meter').notNull(),
    /** The UTC period the usage counts in: `D2026-12-01`, `M2026-12` or `L` (lifetime). */
    period: text('period').notNull(),
    amount: integer('amount').notNull(),
    /** The meter's total in its period right after this usage. */
    used: integer('used').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    metadata: jsonb('metadata').$type<unknown>(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.licenseId, t.meter, t.period, t.idempotencyKey] }),
    index('meter_usage_license_recorded_idx').on(t.licenseId, t.recordedAt),
  ],
);

// ── Seat utilization history (services/utilization/) ─────────────────────────────────────────

export const utilizationGranularity = pgEnum('utilization_granularity', ['MINUTE', 'HOUR', 'DAY']);

/**
 * A license's seat activity in one bucket: minutes written from the instances' buffers, hours
 * and days rolled up from them. `rolled_up` is false while the point holds figures its coarser
 * bucket has not taken yet.
 */
export const seatUtilization = pgTable(
  'seat_utilization',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    granularity: utilizationGranularity('granularity').notNull(),
    /** The bucket's start. */
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The highest live seat count the seat store answered in the bucket. */
    peakUsed: integer('peak_used').notNull(),
    maxSeats: integer('max_seats').notNull(),
    grants: integer('grants').notNull().default(0),
    denials: integer('denials').notNull().default(0),
    queued: integer('queued').notNull().default(0),
    rolledUp: boolean('rolled_up').notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.licenseId, t.granularity, t.at] }),
    index('seat_utilization_org_idx').on(t.orgId, t.granularity, t.at),
    index('seat_utilization_pending_idx')
      .on(t.granularity, t.licenseId, t.at)
      .where(sql`not ${t.rolledUp}`),
  ],
);

/**
 * The verification log: each `validateLicense` of a license and each refused seat operation,
 * with its answer and who asked. `seq` orders entries written at the same instant.
 */
export const licenseVerifications = pgTable(
  'license_verifications',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    /** `validateLicense`, or the seat operation refused (`acquire`, `heartbeat`, …). */
    operation: text('operation').notNull(),
    /** The validation code, or the refusal's error code. */
    result: text('result').notNull(),
    address: text('address'),
    origin: text('origin'),
    fingerprint: text('fingerprint'),
  },
  (t) => [index('license_verifications_license_at_idx').on(t.licenseId, t.at, t.seq), index('license_verifications_at_idx').on(t.at)],
);

// ── Identity (users, refresh tokens, API keys, usage) ───────────────────────────────────────

export const userRole = pgEnum('user_role', ['owner', 'admin', 'member', 'viewer']);
export const apiKeyEnvironment = pgEnum('api_key_environment', ['live', 'test']);

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Lower-cased; unique across the server so login needs no organization. */
    email: text('email').notNull(),
    /** `scrypt$N$r$p$salt$hash`, base64url parts; null for a user made by single sign-on, who has no password. */
    passwordHash: text('password_hash'),
    role: userRole('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_idx').on(t.email), index('users_org_idx').on(t.orgId)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Every token rotated from one login shares a family; reuse of a spent one revokes it whole. */
    familyId: text('family_id').notNull(),
    /** SHA-256 hex of the token. */
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('refresh_tokens_hash_idx').on(t.tokenHash), index('refresh_tokens_family_idx').on(t.familyId)],
);

/**
 * A user's account at an OpenID Connect issuer: single sign-on finds the user by (issuer,
 * subject), never by email alone, since an issuer may give an email to someone else later.
 * Unique across the server, as emails are: sign-in runs before any organization is known.
 */
export const userIdentities = pgTable(
  'user_identities',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    /** The email the issuer gave at the last sign-in, for display; never used to find the user. */
    email: text('email'),
    createdAt: createdAt(),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('user_identities_subject_idx').on(t.issuer, t.subject), index('user_identities_user_idx').on(t.userId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    environment: apiKeyEnvironment('environment').notNull(),
    /** SHA-256 hex of the full secret; the secret itself is shown once. */
    secretHash: text('secret_hash').notNull(),
    hint: text('hint').notNull(),
    /** During a rotation with preserveKeyId, the replaced secret keeps working until previousExpiresAt. */
    previousSecretHash: text('previous_secret_hash'),
    previousExpiresAt: timestamp('previous_expires_at', { withTimezone: true, mode: 'date' }),
    scopes: text('scopes').array().notNull(),
    /** CIDR blocks (IPv4 or IPv6); empty = any address. */
    ipAllowlist: text('ip_allowlist')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Names the rate-limit tier of the key. */
    tier: text('tier').notNull().default('standard'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    revokeReason: text('revoke_reason'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('api_keys_secret_hash_idx').on(t.secretHash),
    index('api_keys_previous_secret_hash_idx').on(t.previousSecretHash),
    index('api_keys_org_idx').on(t.orgId),
  ],
);

export const apiKeyUsage = pgTable(
  'api_key_usage',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    apiKeyId: text('api_key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    day: text('day').notNull(),
    tier: text('tier').notNull(),
    requests: integer('requests').notNull().default(0),
    errors: integer('errors').notNull().default(0),
    rateLimited: integer('rate_limited').notNull().default(0),
    uniqueIps: integer('unique_ips').notNull().default(0),
    p50Ms: integer('p50_ms'),
    p95Ms: integer('p95_ms'),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.day] })],
);

// ── Webhooks (transactional outbox, deliveries, attempts) ───────────────────────────────────

export const webhookDeliveryStatus = pgEnum('webhook_delivery_status', [
  'PENDING',
  'RETRYING',
  'DELIVERED',
  'FAILED',
  'DEAD',
  'REPLAY_EXPIRED',
  'DISABLED',
]);

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    /** Event type patterns: `license.*`, `seat.acquired`, `*`. */
    eventTypes: text('event_types').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** The signing secret, encrypted at rest (AES-GCM with the server key). */
    secretCiphertext: text('secret_ciphertext').notNull(),
    /** During a rotation both secrets sign until previousSecretExpiresAt. */
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, mode: 'date' }),
    disabledReason: text('disabled_reason'),
    /** Since when every attempt has failed (the services' clock); cleared by a 2xx answer or by enabling the endpoint. */
    failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_org_idx').on(t.orgId)],
);

export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_events_org_created_idx').on(t.orgId, t.createdAt)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    status: webhookDeliveryStatus('status').notNull().default('PENDING'),
    /** Attempts of the current series (a redelivery by hand starts a new one). */
    attempts: integer('attempts').notNull().default(0),
    /** When due (PENDING, FAILED), or when the claim of the worker sending it lapses (PENDING, RETRYING). */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }),
    /** Set by the worker that claimed the delivery; only that claim may record the attempt's outcome. */
    claimToken: text('claim_token'),
    /** When the current series was started by hand; the maximum event age counts from here. */
    redeliveredAt: timestamp('redelivered_at', { withTimezone: true, mode: 'date' }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} in ('PENDING', 'FAILED', 'RETRYING')`),
    index('webhook_deliveries_org_created_idx').on(t.orgId, t.createdAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    statusCode: integer('status_code'),
    durationMs: integer('duration_ms').notNull(),
    /** The first 2 KB of the answer. */
    responseBody: text('response_body'),
    error: text('error'),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.attempt)],
);
