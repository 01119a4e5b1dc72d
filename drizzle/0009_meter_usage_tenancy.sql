-- Tenant isolation of meter usage, as 0004 does for the tables before it. Hand-written:
-- drizzle-kit does not generate grants or policies, and 0004's grant covered only the tables
-- that existed then.
GRANT SELECT, INSERT, UPDATE, DELETE ON meter_usage TO leasehold_app;
--> statement-breakpoint
ALTER TABLE meter_usage ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON meter_usage USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
