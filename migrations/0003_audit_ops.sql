-- audit_ops folds each operation to one row (its first event's action, user,
-- instance and time; its newest event's seq and state), kept by a trigger
-- in the append's own transaction. The audit page and the approval queue
-- read it through indexes, so their cost follows the operations they show,
-- not the size of the log (a spray of failed sign-ins adds rows they never
-- touch). It is derived: the hash chain covers audit_events alone.
CREATE TABLE audit_ops (
    op_id       INTEGER PRIMARY KEY,
    last_seq    INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    user        TEXT    NOT NULL,
    instance_id TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    time        TEXT    NOT NULL
);

INSERT INTO audit_ops (op_id, last_seq, action, user, instance_id, state, time)
SELECT f.op_id, x.last, f.action, f.user, f.instance_id, l.state, f.time
FROM (SELECT op_id, MAX(seq) AS last FROM audit_events GROUP BY op_id) x
JOIN audit_events f ON f.seq = x.op_id
JOIN audit_events l ON l.seq = x.last;

-- Few indexes: each costs every new operation. The per-instance history
-- reads by instance, the audit page by action (sign-ins apart); the approval queue and the recovery of lost outcomes read the
-- open operations only, through a partial index (migration 0006 adds the
-- open check's); the other filters read rows already in op order.
CREATE INDEX audit_ops_instance ON audit_ops (instance_id, op_id);
CREATE INDEX audit_ops_action ON audit_ops (action, op_id);
CREATE INDEX audit_ops_state ON audit_ops (state, op_id) WHERE state IN ('awaiting_approval', 'sent');

CREATE TRIGGER audit_ops_track AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_ops (op_id, last_seq, action, user, instance_id, state, time)
    VALUES (NEW.op_id, NEW.seq, NEW.action, NEW.user, NEW.instance_id, NEW.state, NEW.time)
    ON CONFLICT (op_id) DO UPDATE SET last_seq = excluded.last_seq, state = excluded.state;
END;
