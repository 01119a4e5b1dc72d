DROP INDEX "webhook_deliveries_due_idx";--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "expiry_warning_sent_for" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "claim_token" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "redelivered_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE "webhook_deliveries"."status" in ('PENDING', 'FAILED', 'RETRYING');