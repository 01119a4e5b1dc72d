/**
 * The row types of every table, as drizzle selects them: one name per table, `<Table>Row`.
 * Services, the schema and tests import rows from here, never from the service that happens
 * to use them.
 */
import type {
  apiKeys,
  apiKeyUsage,
  auditAnchors,
  auditLogs,
  licenses,
  licenseVerifications,
  machines,
  meterUsage,
  organizations,
  refreshTokens,
  seatSessions,
  seatUtilization,
  userIdentities,
  users,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
} from './schema.ts';

export type OrganizationRow = typeof organizations.$inferSelect;
export type LicenseRow = typeof licenses.$inferSelect;
export type LicenseVerificationRow = typeof licenseVerifications.$inferSelect;
export type MachineRow = typeof machines.$inferSelect;
export type MeterUsageRow = typeof meterUsage.$inferSelect;
export type SeatSessionRow = typeof seatSessions.$inferSelect;
export type SeatUtilizationRow = typeof seatUtilization.$inferSelect;
export type AuditLogRow = typeof auditLogs.$inferSelect;
export type AuditAnchorRow = typeof auditAnchors.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type UserIdentityRow = typeof userIdentities.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type ApiKeyUsageRow = typeof apiKeyUsage.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
