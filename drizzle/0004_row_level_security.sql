-- Tenant isolation by row-level security. Hand-written: drizzle-kit does not generate roles or
-- policies.
--
-- Requests that touch tenant data run in a transaction that does `SET LOCAL ROLE leasehold_app`
-- and `set_config('app.org_id', <org>, true)` (src/db/tenant.ts). leasehold_app is not the
-- tables' owner and not a superuser, so the policies hold for it even though the connecting
-- user owns the tables. Without app.org_id set it sees no rows at all.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'leasehold_app') THEN
    CREATE ROLE leasehold_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
-- The connecting user must be able to switch to the role (a superuser always can).
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT leasehold_app TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO leasehold_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO leasehold_app;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO leasehold_app;
--> statement-breakpoint
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON organizations USING (id = current_setting('app.org_id', true)) WITH CHECK (id = current_setting('app.org_id', true));
--> statement-breakpoint
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['licenses', 'machines', 'seat_sessions', 'audit_logs', 'users', 'refresh_tokens', 'api_keys',
    'api_key_usage', 'webhook_endpoints', 'webhook_events', 'webhook_deliveries', 'webhook_attempts'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = current_setting(''app.org_id'', true)) '
      'WITH CHECK (org_id = current_setting(''app.org_id'', true))', t);
  END LOOP;
END $$;
