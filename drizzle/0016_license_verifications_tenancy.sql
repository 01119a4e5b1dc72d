-- Tenant isolation of the verification log, as 0004, 0009 and 0014 do for the tables before it.
-- Hand-written: drizzle-kit does not generate grants or policies. The sequence is granted too:
-- 0004's grant covered only the sequences that existed then.
GRANT SELECT, INSERT, UPDATE, DELETE ON license_verifications TO leasehold_app;
--> statement-breakpoint
GRANT USAGE, SELECT ON SEQUENCE license_verifications_seq_seq TO leasehold_app;
--> statement-breakpoint
ALTER TABLE license_verifications ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON license_verifications USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
