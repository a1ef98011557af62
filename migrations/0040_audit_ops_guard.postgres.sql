-- audit_ops guarded like the log (PostgreSQL): as 0040_audit_ops_guard.sql.
-- The update trigger's condition is in WHEN, so the fold's own updates call
-- no function (a plpgsql call per append cost a sixth of it, see 0008).
CREATE FUNCTION audit_ops_fold_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_ops is the audit log''s fold: its rows are never deleted, and only a newer entry of the same operation updates one';
END;
$$;
CREATE TRIGGER audit_ops_no_delete BEFORE DELETE ON audit_ops
    FOR EACH ROW EXECUTE FUNCTION audit_ops_fold_only();
CREATE TRIGGER audit_ops_no_truncate BEFORE TRUNCATE ON audit_ops
    FOR EACH STATEMENT EXECUTE FUNCTION audit_ops_fold_only();
CREATE TRIGGER audit_ops_no_rewrite BEFORE UPDATE ON audit_ops FOR EACH ROW
    WHEN (NEW.op_id IS DISTINCT FROM OLD.op_id OR NEW.action IS DISTINCT FROM OLD.action OR NEW."user" IS DISTINCT FROM OLD."user"
        OR NEW.instance_id IS DISTINCT FROM OLD.instance_id OR NEW.time IS DISTINCT FROM OLD.time OR NEW.last_seq <= OLD.last_seq)
    EXECUTE FUNCTION audit_ops_fold_only();
