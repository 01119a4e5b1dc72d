CREATE TABLE "machine_deactivations" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"license_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"deactivated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "max_deactivations_per_month" integer;--> statement-breakpoint
ALTER TABLE "machine_deactivations" ADD CONSTRAINT "machine_deactivations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "machine_deactivations" ADD CONSTRAINT "machine_deactivations_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "machine_deactivations_license_idx" ON "machine_deactivations" USING btree ("license_id","deactivated_at");--> statement-breakpoint
CREATE INDEX "seat_sessions_machine_idx" ON "seat_sessions" USING btree ("license_id","fingerprint");--> statement-breakpoint
-- Tenant isolation, as 0004 does for the tables before it (drizzle-kit writes no grants or policies).
GRANT SELECT, INSERT, UPDATE, DELETE ON machine_deactivations TO leasehold_app;
--> statement-breakpoint
ALTER TABLE machine_deactivations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON machine_deactivations USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
