-- The audit log: append-only events chained by hash. seq is gapless (the
-- single writer assigns MAX(seq)+1 inside an immediate transaction); op_id is
-- the seq of the operation's first event, so an operation's events fold
-- together and its current state is the state of its newest event.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,
    op_id           INTEGER NOT NULL,
    time            TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    user            TEXT    NOT NULL,
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
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);

CREATE INDEX audit_events_op ON audit_events (op_id, seq);
CREATE INDEX audit_events_instance ON audit_events (instance_id, seq);
CREATE INDEX audit_events_request ON audit_events (request_id) WHERE request_id <> '';

-- A guard, not the proof: the hash chain is what shows tampering.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
