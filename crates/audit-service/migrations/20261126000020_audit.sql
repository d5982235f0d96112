-- The provisioning log: one row per event on the stream, keyed by the
-- stream sequence, so replaying the stream can never record an event twice
-- (I7). Rows are only ever inserted.

CREATE TABLE audit_log (
    sequence        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    tenant_id       text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    operation       text        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('success', 'failure')),
    resource_type   text,
    target_id       text,
    target_name     text,
    actor_config_id text,
    actor_token_id  text,
    correlation_id  text        NOT NULL,
    status          integer,
    detail          text,
    event           jsonb       NOT NULL
);

-- Keyset paging walks a tenant's rows in sequence order.
CREATE INDEX audit_log_tenant_sequence_idx ON audit_log (tenant_id, sequence);
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, occurred_at, sequence);
CREATE INDEX audit_log_target_idx ON audit_log (tenant_id, target_id);
CREATE INDEX audit_log_target_name_idx ON audit_log (tenant_id, lower(target_name));
CREATE INDEX audit_log_correlation_idx ON audit_log (tenant_id, correlation_id);
CREATE INDEX audit_log_operation_idx ON audit_log (tenant_id, operation);

-- Append-only is enforced by the database too, so no code path (nor a stray
-- manual statement) can rewrite history.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE checkpoint (
    name          text   PRIMARY KEY,
    last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);
