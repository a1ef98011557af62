-- audit_instances: one row an instance id and name that operations began
-- with, and how many did. The audit page's typed instance filter (part of
-- an id or of a name, any case) scans it, a row an instance rather than a
-- row an operation, and reads only the matching instances' operations
-- through audit_ops_instance. It is derived, like audit_ops: the hash
-- chain covers audit_events alone. Kept by a trigger in the append's own
-- transaction, generated from internal/audit/fold.go (instanceInto).
CREATE TABLE audit_instances (
    instance_id   TEXT    NOT NULL,
    instance_name TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (instance_id, instance_name)
) WITHOUT ROWID;

INSERT INTO audit_instances (instance_id, instance_name, n)
SELECT instance_id, instance_name, COUNT(*) FROM audit_events WHERE seq = op_id
GROUP BY instance_id, instance_name;

CREATE TRIGGER audit_instances_track AFTER INSERT ON audit_events WHEN NEW.seq = NEW.op_id
BEGIN
    INSERT INTO audit_instances (instance_id, instance_name, n) SELECT NEW.instance_id, NEW.instance_name, 1 WHERE true ON CONFLICT (instance_id, instance_name) DO UPDATE SET n = audit_instances.n + 1;
END;
