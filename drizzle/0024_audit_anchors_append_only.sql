-- Audit anchors are read and appended to by the app, never changed: hand-written, as drizzle-kit
-- does not generate grants, policies or triggers. leasehold_server got every right on the new
-- table by 0020's default privileges; it keeps only reading and inserting, as leasehold_app does.
-- The trigger is the owner's own guard, as on audit_logs (0002).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_anchors FROM PUBLIC, leasehold_app, leasehold_server;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_anchors TO leasehold_app, leasehold_server;
--> statement-breakpoint
ALTER TABLE audit_anchors ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON audit_anchors USING (org_id = current_setting('app.org_id', true)) WITH CHECK (org_id = current_setting('app.org_id', true));
--> statement-breakpoint
CREATE POLICY server_access ON audit_anchors TO leasehold_server USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_anchors_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_anchors is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_anchors_no_update_delete BEFORE UPDATE OR DELETE ON audit_anchors FOR EACH ROW EXECUTE FUNCTION audit_anchors_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors FOR EACH STATEMENT EXECUTE FUNCTION audit_anchors_append_only();
