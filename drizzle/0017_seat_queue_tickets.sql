CREATE TYPE "public"."queue_ticket_end" AS ENUM('CLAIMED', 'LEFT', 'EXPIRED');--> statement-breakpoint
CREATE TABLE "seat_queue_tickets" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"license_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"user_id" text,
	"process_id" text,
	"queued_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" "queue_ticket_end"
);
--> statement-breakpoint
ALTER TABLE "seat_queue_tickets" ADD CONSTRAINT "seat_queue_tickets_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "seat_queue_tickets" ADD CONSTRAINT "seat_queue_tickets_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "seat_queue_tickets_open_license_idx" ON "seat_queue_tickets" USING btree ("license_id","queued_at") WHERE "seat_queue_tickets"."ended_at" IS NULL;--> statement-breakpoint
CREATE INDEX "seat_queue_tickets_open_expiry_idx" ON "seat_queue_tickets" USING btree ("expires_at") WHERE "seat_queue_tickets"."ended_at" IS NULL;--> statement-breakpoint
-- Tenant isolation of queue tickets, as 0014 does for seat utilization. Hand-written: drizzle-kit
-- does not generate grants or policies.
GRANT SELECT, INSERT, UPDATE, DELETE ON seat_queue_tickets TO leasehold_app;
--> statement-breakpoint
ALTER TABLE seat_queue_tickets ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON seat_queue_tickets USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
