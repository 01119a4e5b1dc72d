/**
 * Postgres is the record: organizations, licenses, the machines each license has activated,
 * seat sessions and the audit log. Redis holds the live seat state and is rebuilt from here.
 */
import { sql } from 'drizzle-orm';
import { bigserial, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const licenseStatus = pgEnum('license_status', ['ACTIVE', 'SUSPENDED', 'REVOKED']);
export const sessionEndReason = pgEnum('session_end_reason', ['RELEASED', 'EXPIRED', 'REVOKED']);

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
    status: licenseStatus('status').notNull().default('ACTIVE'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
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
  ],
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
  },
  (t) => [
    index('audit_logs_org_seq_idx').on(t.orgId, t.seq),
    index('audit_logs_org_created_idx').on(t.orgId, t.createdAt),
    index('audit_logs_resource_idx').on(t.resourceType, t.resourceId),
  ],
);

export type License = typeof licenses.$inferSelect;
export type SeatSessionRow = typeof seatSessions.$inferSelect;
export type AuditLogRow = typeof auditLogs.$inferSelect;
