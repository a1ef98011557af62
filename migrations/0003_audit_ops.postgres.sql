-- audit_ops (PostgreSQL): as 0003_audit_ops.sql, kept by a trigger in the
-- append's own transaction.
CREATE TABLE audit_ops (
    op_id       BIGINT PRIMARY KEY,
    last_seq    BIGINT NOT NULL,
    action      TEXT   NOT NULL,
    "user"      TEXT   NOT NULL,
    instance_id TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    time        TEXT   NOT NULL
);

CREATE INDEX audit_ops_instance ON audit_ops (instance_id, op_id);
CREATE INDEX audit_ops_action ON audit_ops (action, op_id);
CREATE INDEX audit_ops_state ON audit_ops (state, op_id) WHERE state IN ('awaiting_approval', 'sent');

CREATE FUNCTION audit_ops_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_ops (op_id, last_seq, action, "user", instance_id, state, time)
    VALUES (NEW.op_id, NEW.seq, NEW.action, NEW."user", NEW.instance_id, NEW.state, NEW.time)
    ON CONFLICT (op_id) DO UPDATE SET last_seq = excluded.last_seq, state = excluded.state;
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_ops_track AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_ops_track();
