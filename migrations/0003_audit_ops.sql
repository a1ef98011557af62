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

-- Few indexes: each costs every append. The approval queue reads by state,
-- the per-instance history and the open check by instance, a requester's
-- outcomes by user; the rest (action, dates) filter rows already in op order.
CREATE INDEX audit_ops_state ON audit_ops (state, op_id);
CREATE INDEX audit_ops_user ON audit_ops (user, op_id);
CREATE INDEX audit_ops_instance ON audit_ops (instance_id, op_id);

CREATE TRIGGER audit_ops_track AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_ops (op_id, last_seq, action, user, instance_id, state, time)
    VALUES (NEW.op_id, NEW.seq, NEW.action, NEW.user, NEW.instance_id, NEW.state, NEW.time)
    ON CONFLICT (op_id) DO UPDATE SET last_seq = excluded.last_seq, state = excluded.state;
END;
