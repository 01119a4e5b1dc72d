-- Tenant isolation of the users' issuer accounts, as 0004, 0009 and 0014 do for the tables before it.
-- Hand-written: drizzle-kit does not generate grants or policies. Single sign-on finds an account
-- by (issuer, subject) on the connecting user, as sign-in finds a user by email; every write of
-- it is tenant work.
GRANT SELECT, INSERT, UPDATE, DELETE ON user_identities TO leasehold_app;
--> statement-breakpoint
ALTER TABLE user_identities ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON user_identities USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
