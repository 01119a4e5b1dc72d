-- The audit chain, version 2: an unambiguous hash input, and the time set by the database.
-- Hand-written because drizzle-kit does not generate functions or triggers.
--
-- Version 1 (drizzle/0002, 0006) joined the fields with U+001F and wrote NULL as '': a NULL
-- actor or request id hashed like an empty one, and a value holding U+001F could move a field
-- boundary without changing the hash. Version 2 writes each field as its UTF-8 length, ':', the
-- value and ',' (a netstring), and NULL as '-', after a tag naming the version; the time is
-- microseconds since the epoch. Rows already written keep chain_version 1 and verify as they
-- are (src/services/audit/chain.ts computes both); every new row is version 2.
--
-- created_at was whatever the inserting statement gave; the trigger now sets it from the
-- database's clock, taken under the chain's lock so the times follow the chain's order.
--
-- Names are schema-qualified, so a role that can create objects in a schema earlier in a
-- session's search_path cannot slip its own function under the chain (the verifier recomputes
-- every hash outside Postgres anyway).
CREATE OR REPLACE FUNCTION audit_log_hash_v2(previous text, r public.audit_logs) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  seq text := r.seq::text;
  data text := r.data::text;
  micros text := ((extract(epoch FROM r.created_at) * 1000000)::bigint)::text;
BEGIN
  -- One expression, each field `length:value,`, or '-' for NULL (a concatenation with NULL is
  -- NULL): a loop over the fields cost the insert trigger about twice its time. octet_length
  -- counts UTF-8 bytes in a UTF8 database (Postgres's default, and PGlite's).
  RETURN pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('18:leasehold-audit-v2,'
    || coalesce(pg_catalog.octet_length(previous)::text || ':' || previous || ',', '-')
    || coalesce(pg_catalog.octet_length(seq)::text || ':' || seq || ',', '-')
    || coalesce(pg_catalog.octet_length(r.id)::text || ':' || r.id || ',', '-')
    || coalesce(pg_catalog.octet_length(r.org_id)::text || ':' || r.org_id || ',', '-')
    || coalesce(pg_catalog.octet_length(r.actor_type)::text || ':' || r.actor_type || ',', '-')
    || coalesce(pg_catalog.octet_length(r.actor_id)::text || ':' || r.actor_id || ',', '-')
    || coalesce(pg_catalog.octet_length(r.action)::text || ':' || r.action || ',', '-')
    || coalesce(pg_catalog.octet_length(r.resource_type)::text || ':' || r.resource_type || ',', '-')
    || coalesce(pg_catalog.octet_length(r.resource_id)::text || ':' || r.resource_id || ',', '-')
    || coalesce(pg_catalog.octet_length(data)::text || ':' || data || ',', '-')
    || coalesce(pg_catalog.octet_length(r.request_id)::text || ':' || r.request_id || ',', '-')
    || coalesce(pg_catalog.octet_length(micros)::text || ':' || micros || ',', '-'), 'UTF8')), 'hex');
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_logs_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous text;
BEGIN
  -- 0x4c48 ("LH") namespaces the lock; one lock per organization serialises its chain.
  PERFORM pg_catalog.pg_advisory_xact_lock(19528, pg_catalog.hashtext(NEW.org_id));
  -- Taken under the lock, so seq order is chain order, and the times follow it.
  NEW.seq := pg_catalog.nextval(pg_catalog.pg_get_serial_sequence('public.audit_logs', 'seq'));
  NEW.created_at := pg_catalog.clock_timestamp();
  NEW.chain_version := 2;
  SELECT hash INTO previous FROM public.audit_logs WHERE org_id = NEW.org_id ORDER BY seq DESC LIMIT 1;
  NEW.prev_hash := previous;
  NEW.hash := public.audit_log_hash_v2(previous, NEW);
  RETURN NEW;
END $$;
