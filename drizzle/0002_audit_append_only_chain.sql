-- The audit log is append-only and tamper-evident. Hand-written because drizzle-kit does not
-- generate functions or triggers.
--
-- Each row's hash is SHA-256 over the previous row's hash (same organization) and the row's
-- own content, so editing or removing a row breaks the chain at that point. The chain is built
-- in a BEFORE INSERT trigger under a per-organization advisory lock, so concurrent writers
-- of one organization chain in a single order whatever code path inserts the row.

-- The row's content as hashed: every column but the chain columns, in a fixed text form.
CREATE OR REPLACE FUNCTION audit_log_content(r audit_logs) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws(E'\x1f', r.seq::text, r.id, r.org_id, r.actor_type, coalesce(r.actor_id, ''), r.action,
    r.resource_type, r.resource_id, r.data::text, coalesce(r.request_id, ''),
    to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_log_hash(previous text, r audit_logs) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(coalesce(previous, '') || E'\x1e' || audit_log_content(r), 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- Rows written before this migration are chained once, in their order.
DO $$
DECLARE
  r audit_logs;
  previous text;
  current_org text;
BEGIN
  FOR r IN SELECT * FROM audit_logs ORDER BY org_id, seq LOOP
    IF current_org IS DISTINCT FROM r.org_id THEN
      previous := NULL;
      current_org := r.org_id;
    END IF;
    UPDATE audit_logs SET prev_hash = previous, hash = audit_log_hash(previous, r) WHERE id = r.id;
    previous := audit_log_hash(previous, r);
  END LOOP;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_logs_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous text;
BEGIN
  -- 0x4c48 ("LH") namespaces the lock; one lock per organization serialises its chain.
  PERFORM pg_advisory_xact_lock(19528, hashtext(NEW.org_id));
  -- Taken under the lock, so seq order is chain order.
  NEW.seq := nextval(pg_get_serial_sequence('audit_logs', 'seq'));
  SELECT hash INTO previous FROM audit_logs WHERE org_id = NEW.org_id ORDER BY seq DESC LIMIT 1;
  NEW.prev_hash := previous;
  NEW.hash := audit_log_hash(previous, NEW);
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_logs_chain BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_chain();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_logs_no_update_delete BEFORE UPDATE OR DELETE ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();
