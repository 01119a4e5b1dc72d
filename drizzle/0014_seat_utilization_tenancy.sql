-- Tenant isolation of seat utilization history, as 0004 and 0009 do for the tables before it.
-- Hand-written: drizzle-kit does not generate grants or policies.
GRANT SELECT, INSERT, UPDATE, DELETE ON seat_utilization TO leasehold_app;
--> statement-breakpoint
ALTER TABLE seat_utilization ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON seat_utilization USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
