-- The server runs as a role that does not own the tables. Hand-written: drizzle-kit does not
-- generate roles, grants or policies.
--
-- Until now the connecting user was the tables' owner, so whoever held the app's credentials
-- could drop the audit log's append-only trigger, replace its hash functions or truncate it.
-- leasehold_server holds what the server needs and no more: it reads and writes rows, but owns
-- nothing, so it cannot alter, drop or truncate a table, disable a trigger or replace a
-- function; the audit log it may only read and append to. Migrations run as the owner
-- (MIGRATION_DATABASE_URL), which grants leasehold_server to the login of DATABASE_URL
-- (src/db/client.ts); the embedded database switches its session to it after migrating.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'leasehold_server') THEN
    CREATE ROLE leasehold_server NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
-- Tenant work switches to leasehold_app (SET LOCAL ROLE, src/db/tenant.ts).
GRANT leasehold_app TO leasehold_server;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO leasehold_server;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO leasehold_server;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO leasehold_server;
--> statement-breakpoint
-- Tables and sequences later migrations create (as this owner) are the server's to use as well;
-- a table that must be append-only revokes what it must, as audit_logs does here.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO leasehold_server;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO leasehold_server;
--> statement-breakpoint
-- The audit log is read and appended to by everyone but its owner: the trigger refusing UPDATE,
-- DELETE and TRUNCATE (0002) stays as the owner's own guard.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_logs FROM PUBLIC, leasehold_app, leasehold_server;
--> statement-breakpoint
-- Work that spans organizations by nature (resolving a license key, sign-in, the sweeper) runs
-- as leasehold_server itself, outside any organization: as the owner it passed row-level
-- security, as leasehold_server it needs a policy of its own on every table that has one.
-- leasehold_app is not a member of leasehold_server, so tenant work stays inside its
-- organization. A table a later migration puts under row-level security needs the same policy.
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity ORDER BY c.relname LOOP
    EXECUTE format('CREATE POLICY server_access ON %I TO leasehold_server USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;
--> statement-breakpoint
-- An instance started without MIGRATION_DATABASE_URL checks that the database is at its
-- version instead of migrating it, which needs to read the migrator's own table.
GRANT USAGE ON SCHEMA drizzle TO leasehold_server;
--> statement-breakpoint
GRANT SELECT ON drizzle.__drizzle_migrations TO leasehold_server;
