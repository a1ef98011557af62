-- audit_ops is the fold of the audit log (migration 0003), and the pages,
-- the approval queue, the history and the export read it: deleting a row
-- hid an operation (a pending wipe request) from all of them. Guard it like
-- the log: its rows are never deleted, and the only update is the fold's
-- own (a newer entry of the same operation: last_seq grows, the first
-- entry's action, user, instance and time stay). A guard, not the proof:
-- `web audit verify` checks that the table is exactly the chain's fold.
CREATE TRIGGER audit_ops_no_delete BEFORE DELETE ON audit_ops
BEGIN
    SELECT RAISE(ABORT, 'audit_ops is the audit log''s fold: its rows are never deleted');
END;

CREATE TRIGGER audit_ops_fold_only BEFORE UPDATE ON audit_ops
WHEN NEW.op_id IS NOT OLD.op_id OR NEW.action IS NOT OLD.action OR NEW.user IS NOT OLD.user
    OR NEW.instance_id IS NOT OLD.instance_id OR NEW.time IS NOT OLD.time OR NEW.last_seq <= OLD.last_seq
BEGIN
    SELECT RAISE(ABORT, 'audit_ops is the audit log''s fold: only a newer entry of the same operation updates a row');
END;
