-- The audit log (PostgreSQL): as 0002_audit.sql. seq is gapless: every
-- append takes the chain's advisory lock inside its transaction and assigns
-- MAX(seq)+1, whichever replica writes it.
CREATE TABLE audit_events (
    seq             BIGINT  PRIMARY KEY,
    op_id           BIGINT  NOT NULL,
    time            TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    "user"          TEXT    NOT NULL,
    auth_method     TEXT    NOT NULL DEFAULT '',
    source_ip       TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    region          TEXT    NOT NULL DEFAULT '',
    instance_id     TEXT    NOT NULL DEFAULT '',
    instance_name   TEXT    NOT NULL DEFAULT '',
    instance_type   TEXT    NOT NULL DEFAULT '',
    init_local_disk INTEGER NOT NULL DEFAULT 0,
    dry_run         INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,
    approver        TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    request_id      TEXT    NOT NULL DEFAULT '',
    error_code      TEXT    NOT NULL DEFAULT '',
    error_message   TEXT    NOT NULL DEFAULT '',
    http_status     INTEGER NOT NULL DEFAULT 0,
    attempt         INTEGER NOT NULL DEFAULT 0,
    duration_ms     BIGINT  NOT NULL DEFAULT 0,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);

CREATE INDEX audit_events_op ON audit_events (op_id, seq);
CREATE INDEX audit_events_instance ON audit_events (instance_id, seq);
CREATE INDEX audit_events_request ON audit_events (request_id) WHERE request_id <> '';

-- A guard, not the proof: the hash chain is what shows tampering.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
