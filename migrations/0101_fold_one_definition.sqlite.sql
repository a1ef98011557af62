-- SQLite's fold of the audit log into audit_ops and the kept counts,
-- generated from the fold's one definition (internal/audit/fold.go), which
-- PostgreSQL's append statement is made of too; the triggers of 0003 and
-- 0010 did the same, written by hand. Do not edit: change the definition
-- and write a new migration (go test ./internal/audit -update-fold).
DROP TRIGGER audit_ops_track;
CREATE TRIGGER audit_ops_track AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_ops (op_id, last_seq, action, "user", instance_id, state, time) SELECT NEW.op_id, NEW.seq, NEW.action, NEW."user", NEW.instance_id, NEW.state, NEW.time WHERE true ON CONFLICT (op_id) DO UPDATE SET last_seq = excluded.last_seq, state = excluded.state;
END;

DROP TRIGGER audit_op_counts_track;
CREATE TRIGGER audit_op_counts_track AFTER INSERT ON audit_events WHEN NEW.seq = NEW.op_id
BEGIN
    INSERT INTO audit_op_counts (action, n) SELECT NEW.action, 1 WHERE true ON CONFLICT (action) DO UPDATE SET n = audit_op_counts.n + 1;
END;
